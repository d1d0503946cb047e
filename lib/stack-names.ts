/**
 * The stacks' names, apart from the app so that what only needs a name (the local runner, the command-line
 * tool) does not load aws-cdk-lib and cdk-nag: a second of every command's start.
 */
export const STACK_NAME = 'IamAccessAudit';
export const MEMBER_STACK_NAME = 'IamAccessAuditMember';
export const MEMBER_STACKSET_STACK_NAME = 'IamAccessAuditMembers';
