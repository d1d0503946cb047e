/**
 * The files and directories the commands write: checked before any work, each problem a usage error
 * naming the flag, and a file written whole or not at all (a full disk then says so in one line).
 */
import { accessSync, constants, mkdtempSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { nearestExisting, statOf } from '../lambda/core/store';
import { UsageError } from './flags';

/**
 * A directory a command will write into, as given to `--flag`: it is a writable directory, or one can be
 * made there (its nearest existing ancestor is a writable directory), and it holds new directories.
 * Nothing is left made here.
 */
export function writableDirectoryFlag(flag: string, dir: string): string {
  const { path, what } = directoryFlag(flag, dir);
  try {
    accessSync(path, constants.W_OK);
  } catch {
    throw new UsageError(`--${flag} ${dir}: ${what} may not be written by this user`);
  }
  // Writable is not enough (and root may write anywhere): /proc and /sys refuse new directories whoever
  // asks. A directory made there and removed at once is the only sure test.
  try {
    rmdirSync(mkdtempSync(join(path, '.iam-access-audit-')));
  } catch (err) {
    throw new UsageError(`--${flag} ${dir}: ${what} holds no new directories (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return dir;
}

/**
 * A directory given to `--flag`, there or not: neither it nor any directory above it is a file. Returns
 * the nearest of them that exists, and how a message names it.
 */
export function directoryFlag(flag: string, dir: string): { path: string; what: string } {
  const { path } = nearestExisting(dir);
  if (path === undefined) throw new UsageError(`--${flag} ${dir}: no directory on its path exists`);
  const what = path === resolve(dir) ? 'it' : path;
  if (!statSync(path).isDirectory()) throw new UsageError(`--${flag} ${dir}: ${what} is a file, not a directory`);
  return { path, what };
}

/** A write the system refused though the path is right (a full disk, a device's fault): said in one line, exit 1. */
export class WriteFailure extends Error {}

/** What a write's errors say of the path it was given, which the user can mend by giving another. */
const PATH_FAULTS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'ELOOP']);

/**
 * Writes a file whole or not at all: a temporary file beside it, renamed into place. A path that cannot
 * be written is a usage error; any other refusal a WriteFailure.
 */
export function writeFileAtomically(file: string, text: string): void {
  if (statOf(file)?.isDirectory()) throw new UsageError(`cannot write ${file}: it is a directory`);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  } catch (err) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // Under a file, or a directory not there: nothing was written to remove.
    }
    const message = `cannot write ${file}: ${(err as Error).message.replace(temporary, file)}`;
    throw PATH_FAULTS.has((err as NodeJS.ErrnoException).code ?? '') ? new UsageError(message) : new WriteFailure(message);
  }
}
