// payments: a leaf service whose card processor is "down" for one order.
import { runService } from '../lib/service.mjs';

const DECLINED_BY_UPSTREAM = '1003';

runService('payments', {
  'POST /payments/orders/:orderId': async ({ params, body }) => {
    if (params.orderId === DECLINED_BY_UPSTREAM) {
      return [502, { error: 'card processor unavailable' }];
    }
    return [200, { orderId: Number(params.orderId), charged: body.amount, currency: body.currency, status: 'captured' }];
  },
});
