import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

// The SDK's packages are public only at their roots: `lib/` is internal and moves between versions.
const sdkInternals = {
  group: ['@temporalio/*/lib', '@temporalio/*/lib/*'],
  message: "SDK-internal module: import from the package's root (or write the few lines needed).",
};

// Every Node built-in, bare and with the `node:` scheme (a Node built-in needs no package).
const nodeBuiltins = {
  paths: builtinModules
    .filter((name) => !name.startsWith('_'))
    .map((name) => ({
      name,
      message: 'Workflow and domain code must stay deterministic: no Node built-ins.',
    })),
  patterns: [
    { group: ['node:*'], message: 'Workflow and domain code must stay deterministic: no Node built-ins.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.release-flow/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-restricted-imports': ['error', { patterns: [sdkInternals] }],
    },
  },
  {
    // Type-aware rules: the project service reads tsconfig.json once for every file it covers.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits loses its error (an unhandled rejection ends the process).
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      // `import type` for what is only a type: it is erased, so it never loads a module.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
    },
  },
  {
    // Import cycles and zones, over the code that ships.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'] })],
    },
    rules: {
      // A value cycle means one module runs before the other is loaded. The rule skips imports
      // that are only types (they are erased); the zones below keep those pointing down too.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              // Workflow code is replayed in a sandbox: the rules, its own messages and the SDK.
              // Activities are let through here and held to `import type` by no-restricted-imports.
              target: './src/workflows',
              from: './src',
              except: ['./workflows', './domain', './activities'],
              message:
                'Workflows import only src/domain/ and workflow messages (activities by `import type`).',
            },
            {
              // Door -> workflow -> activity -> port -> adapter: an adapter knows ports, not its callers.
              target: './src/adapters',
              from: [
                './src/activities',
                './src/workflows',
                './src/composition',
                './src/cli',
                './src/http',
                './src/release',
                './src/demo',
                './src/temporal',
                './src/app.ts',
                './src/starter.ts',
                './src/worker.ts',
              ],
              message: 'Adapters import ports, domain, common and config, nothing above ports.',
            },
            {
              // main.ts loads the command files; they share cli/context.ts, never main.ts itself.
              target: './src/cli/!(main).ts',
              from: './src/cli/main.ts',
              message: 'Command files import CliContext from ./context, not ./main (main.ts loads them).',
            },
          ],
        },
      ],
    },
  },
  {
    // The doors reach workflows through src/starter.ts (starts, signals, updates, status reads),
    // so every door gives the same answer for the same refusal; the Client type still travels.
    files: ['src/http/**/*.ts', 'src/cli/**/*.ts', 'src/demo/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@temporalio/client',
              allowTypeImports: true,
              message: 'Doors start, signal, update and query workflows through src/starter.ts.',
            },
          ],
          patterns: [sdkInternals],
        },
      ],
    },
  },
  {
    // Workflow code is replayed: it must not reach the outside world except through the SDK.
    files: ['src/workflows/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.paths,
          patterns: [
            ...nodeBuiltins.patterns,
            sdkInternals,
            {
              group: ['**/activities', '**/activities/*', '**/adapters/**'],
              allowTypeImports: true,
              message: 'Import activities with `import type` only.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'setTimeout', 'setInterval', 'fetch'],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use the SDK instead.' },
        {
          object: 'Date',
          property: 'now',
          message: 'Use the workflow clock (Date is deterministic in workflows) or pass time in.',
        },
      ],
    },
  },
);
