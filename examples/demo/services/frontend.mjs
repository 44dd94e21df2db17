// frontend: the entry point curl calls. Looks the user up, then the order,
// one after the other.
import { runService } from '../lib/service.mjs';

runService('frontend', {
  'GET /api/users/:userId': async ({ params, call }) => {
    const user = await call('users', 'GET', `/users/${params.userId}`);
    return [user.status, user.body];
  },
  'GET /api/users/:userId/orders/:orderId': async ({ params, call }) => {
    const user = await call('users', 'GET', `/users/${params.userId}`);
    if (user.status !== 200) return [user.status, user.body];
    const order = await call('orders', 'GET', `/orders/${params.orderId}`);
    return [order.status, { user: user.body, order: order.body }];
  },
});
