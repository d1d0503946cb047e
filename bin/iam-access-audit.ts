import { main } from '../local/cli/main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`iam-access-audit: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
