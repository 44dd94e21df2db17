// users: a leaf service; 404 for an unknown user.
import { runService } from '../lib/service.mjs';

const USERS = new Map([
  ['42', { id: 42, name: 'Ada' }],
  ['7', { id: 7, name: 'Grace' }],
]);

runService('users', {
  'GET /users/:userId': async ({ params }) => {
    const user = USERS.get(params.userId);
    return user ? [200, user] : [404, { error: `no user ${params.userId}` }];
  },
});
