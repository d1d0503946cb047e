/**
 * Checked reads of the environment, so a broken deployment fails at cold start naming the variable.
 */
import { ConfigurationError } from './errors';

export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigurationError(`environment variable ${name} is required`);
  return value;
}

export function numberEnv(name: string, fallback: number, rule: { min: number; max?: number; integer?: boolean }, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < rule.min || (rule.max !== undefined && value > rule.max) || (rule.integer && !Number.isInteger(value))) {
    throw new ConfigurationError(`environment variable ${name} must be ${rule.integer ? 'a whole number' : 'a number'} from ${rule.min}${rule.max === undefined ? '' : ` to ${rule.max}`}, got "${text}"`);
  }
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
