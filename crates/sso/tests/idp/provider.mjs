// A real OpenID provider (panva/oidc-provider) on loopback for covault-sso's integration tests.
//
// Usage: node provider.mjs '<JSON array of client metadata>'
//   env IDP_CLAIMS_IN_ID_TOKEN=1  also puts scope claims (email, name, groups) in the ID token;
//                                 by default (oidc-provider's conformIdTokenClaims) the code flow
//                                 returns them from the userinfo endpoint only.
//
// It listens on 127.0.0.1 with port 0 and prints its issuer URL as the first stdout line. It exits
// when its stdin closes, so a test that dies cannot leave it running.
//
// Everything protocol-related (discovery, authorization, PKCE, token, ID token signing, userinfo)
// is oidc-provider's own code. The one test-only part is the interaction endpoint: where a real
// deployment shows login and consent forms, GET /interaction/<uid>?account=<name> completes the
// prompt for that account through oidc-provider's supported API (interactionDetails,
// interactionFinished and the Grant model), exactly as its dev interaction forms do on submit.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

// Mirrored by covault_sso::testing::{ALICE, BOB} (src/testing.rs); keep them in step.
const accounts = {
  alice: {
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice Example',
    groups: ['eng', 'covault-admins'],
  },
  bob: {
    email: 'bob@contractor.example',
    email_verified: true,
    name: 'Bob Contractor',
    groups: ['contractors'],
  },
};

const clients = JSON.parse(process.argv[2] ?? '[]');
if (!Array.isArray(clients) || clients.length === 0) {
  console.error('usage: node provider.mjs \'[{"client_id": ..., "redirect_uris": [...]}]\'');
  process.exit(2);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  conformIdTokenClaims: process.env.IDP_CLAIMS_IN_ID_TOKEN !== '1',
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  async findAccount(_ctx, id) {
    const claims = accounts[id];
    if (claims === undefined) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

async function interaction(req, res, url) {
  const account = url.searchParams.get('account');
  if (!(account in accounts)) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('unknown test account');
    return;
  }
  const { prompt: { name, details }, grantId, session, params } = await provider.interactionDetails(req, res);
  if (name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: account } }, { mergeWithLastSubmission: false });
    return;
  }
  if (name !== 'consent') {
    res.writeHead(501, { 'content-type': 'text/plain' }).end(`prompt ${name} not implemented`);
    return;
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  if (details.missingResourceScopes) {
    for (const [indicator, scope] of Object.entries(details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  if (req.method === 'GET' && url.pathname.startsWith('/interaction/')) {
    interaction(req, res, url).catch((err) => {
      console.error('interaction failed', err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('interaction failed');
    });
    return;
  }
  callback(req, res);
});

process.stdout.write(`${issuer}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
