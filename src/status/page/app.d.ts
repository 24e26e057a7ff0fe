// app.js is the page's script, imported by src/status/page.ts `with { type: "text" }`: its text.
declare const text: string;
export default text;
