"""Drives every emulated IAM operation through boto3 and prints what it saw as one JSON object.

Usage: boto3_drive.py ENDPOINT THROTTLED_ENDPOINT
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "arn:aws:iam::111122223333:"


def client(endpoint, key="AKIDBOTOTESTER000001", attempts=1):
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key="test-secret",
        config=Config(retries={"mode": "standard", "max_attempts": attempts}),
    )


def error_of(call):
    try:
        call()
    except ClientError as err:
        return {"code": err.response["Error"]["Code"], "status": err.response["ResponseMetadata"]["HTTPStatusCode"]}
    return None


def wait_for(iam, job_id):
    for _ in range(200):
        answer = iam.get_service_last_accessed_details(JobId=job_id)
        if answer["JobStatus"] != "IN_PROGRESS":
            return answer
        time.sleep(0.01)
    raise RuntimeError("job never finished")


def main(endpoint, throttled_endpoint):
    iam = client(endpoint)
    seen = {}
    seen["users"] = [u["UserName"] for page in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1}) for u in page["Users"]]
    seen["groups"] = [g["GroupName"] for g in iam.list_groups()["Groups"]]
    seen["roles"] = [r["RoleName"] for page in iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 2}) for r in page["Roles"]]
    seen["localPolicies"] = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    gaad = [page for page in iam.get_paginator("get_account_authorization_details").paginate(Filter=["User", "Group"], PaginationConfig={"PageSize": 3})]
    seen["gaadUsers"] = sum(len(p["UserDetailList"]) for p in gaad)
    seen["gaadGroups"] = sum(len(p["GroupDetailList"]) for p in gaad)
    seen["gaadPages"] = len(gaad)

    job = iam.generate_service_last_accessed_details(Arn=ACCOUNT + "role/app-deployer")["JobId"]
    first = wait_for(iam, job)
    services = list(first["ServicesLastAccessed"])
    pages = [len(first["ServicesLastAccessed"])]
    marker = first.get("Marker")
    while first["IsTruncated"]:
        first = iam.get_service_last_accessed_details(JobId=job, Marker=marker)
        services += first["ServicesLastAccessed"]
        pages.append(len(first["ServicesLastAccessed"]))
        marker = first.get("Marker")
    seen["reportPages"] = pages
    seen["reportUsed"] = sum(1 for s in services if "LastAuthenticated" in s)
    seen["lastAuthenticatedType"] = type(next(s for s in services if "LastAuthenticated" in s)["LastAuthenticated"]).__name__

    action_job = iam.generate_service_last_accessed_details(Arn=ACCOUNT + "user/alice", Granularity="ACTION_LEVEL")["JobId"]
    actions = wait_for(iam, action_job)
    s3 = next(s for s in actions["ServicesLastAccessed"] if s["ServiceNamespace"] == "s3")
    seen["jobType"] = actions["JobType"]
    seen["s3Actions"] = [a["ActionName"] for a in s3["TrackedActionsLastAccessed"]]

    failed = wait_for(iam, iam.generate_service_last_accessed_details(Arn=ACCOUNT + "role/batch/failing-role")["JobId"])
    seen["failed"] = {"status": failed["JobStatus"], "code": failed["Error"]["Code"]}
    slow = iam.generate_service_last_accessed_details(Arn=ACCOUNT + "role/slow-role")["JobId"]
    time.sleep(0.05)
    seen["slowStatus"] = iam.get_service_last_accessed_details(JobId=slow)["JobStatus"]

    with_entities = iam.get_service_last_accessed_details_with_entities(JobId=action_job, ServiceNamespace="s3")
    seen["withEntities"] = [e["EntityInfo"]["Name"] for e in with_entities["EntityDetailsList"]]
    granting = iam.list_policies_granting_service_access(Arn=ACCOUNT + "group/Developers", ServiceNamespaces=["s3", "ec2"])
    seen["granting"] = {e["ServiceNamespace"]: [p["PolicyName"] for p in e["Policies"]] for e in granting["PoliciesGrantingServiceAccess"]}

    seen["errors"] = {
        "deleted": error_of(lambda: iam.generate_service_last_accessed_details(Arn=ACCOUNT + "user/deleted-user")),
        "unknown": error_of(lambda: iam.generate_service_last_accessed_details(Arn=ACCOUNT + "role/nobody")),
        "granularity": error_of(lambda: iam.generate_service_last_accessed_details(Arn=ACCOUNT + "user/alice", Granularity="SOMETIMES")),
        "foreignJob": error_of(lambda: client(endpoint, "ASIABOTOOTHERSESS001").get_service_last_accessed_details(JobId=job)),
    }

    burst = client(throttled_endpoint, attempts=10)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: len(burst.list_roles()["Roles"]), range(12)))
    seen["burstAnswers"] = answers
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
