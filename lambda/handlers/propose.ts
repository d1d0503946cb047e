import { iamCatalog } from '../core/catalog';
import { ActionSpace } from '../core/policy';
import { propose, type ProposeEvent, type ProposeResult } from '../core/propose';
import { exemptionsFromEnvironment, storeFromEnvironment } from '../core/runtime';

const store = storeFromEnvironment();
const catalog = iamCatalog();
const space = new ActionSpace(catalog);
const exemptions = exemptionsFromEnvironment();

export async function handler(event: ProposeEvent): Promise<ProposeResult> {
  return propose({ store, catalog, space, exemptions }, event);
}
