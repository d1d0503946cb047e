import { main } from '../cli/main';

// A reader that stops early (`| head`) is not an error; a file that cannot take the output (a full disk)
// is, said in one line.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  process.stderr.write(`iam-access-audit: cannot write to standard output: ${err.message}\n`);
  process.exit(1);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`iam-access-audit: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
