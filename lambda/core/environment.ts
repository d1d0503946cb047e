/**
 * Checked reads of the environment, so a broken deployment fails at cold start naming the variable.
 */
import { describeRange, inRange, type Range } from './defaults';
import { ConfigurationError } from './errors';

export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigurationError(`environment variable ${name} is required`);
  return value;
}

export function numberEnv(name: string, fallback: number, range: Range, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!inRange(value, range)) throw new ConfigurationError(`environment variable ${name} must be ${describeRange(range)}, got "${text}"`);
  return value;
}

export function listEnv(name: string, fallback: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const text = env[name];
  if (text === undefined) return [...fallback];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
