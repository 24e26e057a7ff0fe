// The status page's parts, imported `with { type: "text" }` by src/status/page.ts.
declare module "*.css" {
  const text: string;
  export default text;
}
