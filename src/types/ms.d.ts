// `ms` ships types only for its ESM entry, which this CommonJS build cannot see.
declare module 'ms' {
  export default function ms(value: string): number;
}
