// inventory: a leaf service; 404 for an unknown item.
import { runService } from '../lib/service.mjs';

const ITEMS = new Map([
  ['7', { id: 7, name: 'kettle', stock: 12 }],
  ['3', { id: 3, name: 'teapot', stock: 4 }],
]);

runService('inventory', {
  'GET /inventory/items/:itemId': async ({ params }) => {
    const item = ITEMS.get(params.itemId);
    return item ? [200, item] : [404, { error: `no item ${params.itemId}` }];
  },
});
