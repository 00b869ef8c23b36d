#!/usr/bin/env node
'use strict';
// The CLI is TypeScript run through tsx, so the bin works straight from a checkout or `npx`.
require('tsx/cjs/api').register();
require('../src/cli/main.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
