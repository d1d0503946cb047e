import { buildApp } from '../lib/app';
import { SettingsError } from '../lib/settings';

try {
  buildApp().app.synth();
} catch (err) {
  // A bad setting is the user's to fix: its message names the field; a stack trace would only bury it.
  if (!(err instanceof SettingsError)) throw err;
  process.stderr.write(`iam-access-audit: a setting in cdk.json's context (or -c) is wrong: ${err.message}\n`);
  // At once: the app would otherwise synthesize itself, empty, as the process ends.
  process.exit(1);
}
