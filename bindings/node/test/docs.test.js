'use strict';
// docs/node.md promises that its Firefox OS-style example runs as is: run it.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { runNode } = require('./support/child');

const repo = path.join(__dirname, '..', '..', '..');

test('the example of docs/node.md runs as is and exits by itself', { timeout: 20000 }, async () => {
  const doc = fs.readFileSync(path.join(repo, 'docs', 'node.md'), 'utf8');
  const block = doc.split('```js\n')[1];
  assert.ok(block, 'docs/node.md has a ```js block');
  const code = block.slice(0, block.indexOf('```'));
  const r = await runNode(code, { cwd: repo });
  assert.strictEqual(r.code, 0, r.stderr);
  assert.strictEqual(r.stdout, 'got: HELLO, FIREFOX OS\n');
});
