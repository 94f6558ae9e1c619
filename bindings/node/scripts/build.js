#!/usr/bin/env node
// Builds build/tcpsocket.node with CMake (run by `npm install`). Needs cmake, ninja and a C++20
// compiler plus the library's dependencies: scripts/install-deps.sh at the repository's root.
// TCPSOCKET_NODE_BUILD_TYPE (Release) and TCPSOCKET_NODE_SANITIZE ('address,undefined') select
// other builds, in build-asan/, build-tsan/ or build-<type>/.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const buildType = process.env.TCPSOCKET_NODE_BUILD_TYPE || 'Release';
const sanitize = process.env.TCPSOCKET_NODE_SANITIZE || '';
const variant = sanitize ? (sanitize.includes('thread') ? 'tsan' : 'asan') : buildType.toLowerCase();
const buildDir = path.join(root, buildType === 'Release' && !sanitize ? 'build' : `build-${variant}`);
const nodeInclude = path.resolve(path.dirname(process.execPath), '..', 'include', 'node');
const addonApi = path.dirname(require.resolve('node-addon-api/package.json'));

function run(cmd, args) {
  console.log(`> ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: 'inherit', cwd: root });
}

fs.mkdirSync(buildDir, { recursive: true });
run('cmake', ['-S', root, '-B', buildDir, '-G', 'Ninja',
  `-DCMAKE_BUILD_TYPE=${buildType}`,
  `-DNODE_INCLUDE_DIR=${nodeInclude}`,
  `-DNODE_ADDON_API_DIR=${addonApi}`,
  `-DTCPSOCKET_SANITIZE=${sanitize}`]);
run('cmake', ['--build', buildDir, '--target', 'tcpsocket_node', '-j', process.env.TCPSOCKET_NODE_JOBS || '2']);
