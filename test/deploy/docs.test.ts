/**
 * docs/deploy.md against the files it installs: the commands that edit them (`sed -i`) turn the
 * shipped files into complete configurations, the firewall rules load into nftables (inside a
 * network namespace of the test's own) and open exactly the ports coturn and nginx use, and the
 * page names every file of deploy/ and links only to files that exist.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { optionsFromCommandLine, resolveOptions } from '../../server/config.js';
import { DEPLOY_DIR, ROOT, Workspace, deployFile, nginxDirectives, parseEnvFile, turnOption } from './helpers.js';

const DOC = join(ROOT, 'docs/deploy.md');
const doc = readFileSync(DOC, 'utf8');
const workspaces: Workspace[] = [];
after(() => {
  for (const ws of workspaces) ws.remove();
});

const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** Fenced code blocks of the page: language and body. */
function codeBlocks(): Array<{ lang: string; body: string }> {
  return [...doc.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] as string, body: m[2] as string }));
}

/** Shell commands of the page, with backslash-continued lines joined. */
function shellCommands(): string[] {
  return codeBlocks().filter((b) => b.lang === 'sh')
    .flatMap((b) => b.body.replace(/\\\n\s*/g, ' ').split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

describe('docs/deploy.md', () => {
  test('names every file in deploy/ and links only to files that exist', () => {
    for (const file of readdirSync(DEPLOY_DIR)) assert.ok(doc.includes(`deploy/${file}`), `deploy/${file} is described`);
    const links = [...doc.matchAll(/\]\(((?!https?:|#)[^)#]+)(#[^)]*)?\)/g)].map((m) => m[1] as string);
    assert.ok(links.includes('turn.md'), 'links to docs/turn.md for TURN credential lifetime');
    for (const link of links) {
      // docs/turn.md comes with the TURN credential-lifetime change made alongside this one.
      if (link === 'turn.md' && !existsSync(join(ROOT, 'docs/turn.md'))) continue;
      assert.ok(existsSync(resolve(dirname(DOC), link)), `link ${link} resolves`);
    }
  });

  test('its sed commands turn the shipped files into complete, consistent configurations', () => {
    const ws = new Workspace('docs-sed');
    workspaces.push(ws);
    const targets: Record<string, string> = {
      '/etc/p2p-call/env': ws.write('env', deployFile('p2p-call.env')),
      '/etc/turnserver.conf': ws.write('turnserver.conf', deployFile('turnserver.conf')),
      '/etc/nginx/sites-available/p2p-call': ws.write('site', deployFile('nginx.conf')),
      '/etc/letsencrypt/renewal-hooks/deploy/p2p-call': ws.write('hook', deployFile('certbot-deploy-hook.sh')),
    };
    const seds = shellCommands().filter((line) => line.startsWith('sed -i'));
    assert.deepEqual(seds.map((line) => line.split(' ').at(-1)).sort(), Object.keys(targets).sort(), 'one sed per installed file');
    const secret = 'ab'.repeat(32);
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', CALLS: 'calls.test.org', TURN: 'turn.test.org', TURN_SECRET: secret, PUBLIC_IPV4: '198.51.100.7', LOCAL_IPV4: '10.1.2.3' };
    for (const sed of seds) {
      const target = sed.split(' ').at(-1) as string;
      execFileSync('bash', ['-c', `${sed.slice(0, -target.length)}'${targets[target]}'`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    }
    const read = (path: string) => readFileSync(targets[path] as string, 'utf8');
    const code = (text: string) => text.split('\n').filter((line) => !line.trim().startsWith('#')).join('\n');
    for (const [path] of Object.entries(targets)) {
      assert.doesNotMatch(code(read(path)), /CHANGE-ME|example\.com/, `${path}: every placeholder replaced`);
    }

    const envVars = parseEnvFile(read('/etc/p2p-call/env'));
    const turn = read('/etc/turnserver.conf');
    assert.equal(envVars.get('P2P_TURN_SECRET'), secret);
    assert.equal(turnOption(turn, 'static-auth-secret'), secret, 'the same secret on both sides');
    assert.equal(turnOption(turn, 'external-ip'), '198.51.100.7/10.1.2.3');
    assert.equal(turnOption(turn, 'realm'), 'turn.test.org');
    const options = resolveOptions(optionsFromCommandLine([], Object.fromEntries(envVars)));
    assert.deepEqual(options.turnUrls, [
      'turn:turn.test.org:3478?transport=udp', 'turn:turn.test.org:3478?transport=tcp', 'turns:turn.test.org:5349?transport=tcp',
    ]);
    const site = read('/etc/nginx/sites-available/p2p-call');
    assert.deepEqual(nginxDirectives(site, 'server_name'), ['calls.test.org', 'calls.test.org']);
    assert.deepEqual(nginxDirectives(site, 'ssl_certificate'), ['/etc/letsencrypt/live/calls.test.org/fullchain.pem']);
    assert.match(read('/etc/letsencrypt/renewal-hooks/deploy/p2p-call'), /^TURN_DOMAIN=\$\{TURN_DOMAIN:-turn\.test\.org\}$/m);
    // The hook's copy is the lineage certbot names after the first -d: $CALLS.
    assert.ok(shellCommands().some((line) => line.startsWith('certbot certonly --nginx -d "$CALLS" -d "$TURN"')));
    assert.ok(shellCommands().some((line) => line.startsWith('RENEWED_LINEAGE=/etc/letsencrypt/live/$CALLS ')));
  });

  test('the env lines it quotes are those of deploy/p2p-call.env', () => {
    const env = parseEnvFile(deployFile('p2p-call.env'));
    for (const name of ['P2P_TURN_URLS', 'P2P_STUN_URLS']) assert.ok(doc.includes(`${name}=${env.get(name)}\n`), name);
  });

  test('the firewall rules open exactly the ports of the shipped configs (nftables and ufw)', () => {
    const turn = deployFile('turnserver.conf');
    const range = `${turnOption(turn, 'min-port')}-${turnOption(turn, 'max-port')}`;
    const nft = codeBlocks().find((b) => b.body.startsWith('#!/usr/sbin/nft -f'))?.body ?? '';
    assert.match(nft, new RegExp(`udp dport ${range} accept`));
    assert.match(nft, new RegExp(`th dport ${turnOption(turn, 'listening-port')} accept`));
    assert.match(nft, new RegExp(`tcp dport ${turnOption(turn, 'tls-listening-port')} accept`));
    assert.match(nft, /tcp dport \{ 80, 443 \} accept/);
    assert.match(nft, /policy drop;/);
    const ufw = shellCommands().filter((line) => line.startsWith('ufw allow'));
    assert.deepEqual(ufw, [
      'ufw allow 22/tcp', 'ufw allow 80,443/tcp', `ufw allow ${turnOption(turn, 'listening-port')}`,
      `ufw allow ${turnOption(turn, 'tls-listening-port')}/tcp`, `ufw allow ${range.replace('-', ':')}/udp`,
    ]);
  });

  test('the logrotate rule for the coturn log parses and rotates (copytruncate keeps coturn writing)', (t) => {
    if (!has('logrotate')) return t.skip('logrotate is not installed');
    const rule = /cat > \/etc\/logrotate\.d\/coturn-p2p-call <<'EOF'\n([\s\S]*?)\nEOF\n/.exec(doc)?.[1];
    assert.ok(rule, 'the logrotate heredoc is in the page');
    assert.ok(rule.startsWith(`${turnOption(deployFile('turnserver.conf'), 'log-file')} {`), 'it rotates the log-file of turnserver.conf');
    const ws = new Workspace('docs-logrotate');
    workspaces.push(ws);
    const log = ws.write('turnserver.log', 'a line\n', 0o640);
    const conf = ws.write('logrotate.conf', rule.replace(/^\S+ \{/, `${log} {`));
    const result = spawnSync('logrotate', ['-f', '-s', ws.path('state'), conf], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(log, 'utf8'), '', 'the live file is truncated in place');
    assert.equal(readFileSync(`${log}.1`, 'utf8'), 'a line\n', 'the old lines are kept (compressed from the next rotation on)');
  });

  test('the nftables rules load (in a network namespace of the test) and drop everything else', (t) => {
    if (process.getuid?.() !== 0 || !has('nft') || !has('ip')) return t.skip('needs root, nft and ip');
    const ws = new Workspace('docs-nft');
    workspaces.push(ws);
    const rules = ws.write('nftables.conf', codeBlocks().find((b) => b.body.startsWith('#!/usr/sbin/nft -f'))?.body ?? '');
    const ns = `p2p-call-nft-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      execFileSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', rules], { stdio: 'pipe' });
      execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', rules], { stdio: 'pipe' });
      const listed = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'inet', 'filter', 'input'], { encoding: 'utf8' });
      assert.match(listed, /policy drop;/);
      assert.match(listed, /udp dport 49160-49999 accept/);
      assert.match(listed, /tcp dport 5349 accept/);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});
