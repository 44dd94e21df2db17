// orders: checks stock in inventory, then charges in payments.
import { runService } from '../lib/service.mjs';

const ORDERS = new Map([
  ['1001', { id: 1001, itemId: 7, amount: 2599 }],
  ['1002', { id: 1002, itemId: 3, amount: 899 }],
  // payments refuses this one (502).
  ['1003', { id: 1003, itemId: 7, amount: 2599 }],
  // inventory does not know item 99 (404).
  ['1004', { id: 1004, itemId: 99, amount: 100 }],
]);

runService('orders', {
  'GET /orders/:orderId': async ({ params, call }) => {
    const order = ORDERS.get(params.orderId);
    if (!order) return [404, { error: `no order ${params.orderId}` }];
    const item = await call('inventory', 'GET', `/inventory/items/${order.itemId}`);
    if (item.status !== 200) return [409, { error: `item ${order.itemId} unavailable` }];
    const payment = await call('payments', 'POST', `/payments/orders/${order.id}`, {
      amount: order.amount,
      currency: 'EUR',
    });
    if (payment.status !== 200) return [502, { error: 'payment failed', detail: payment.body }];
    return [200, { order, item: item.body, payment: payment.body }];
  },
});
