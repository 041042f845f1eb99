// Files the bundler embeds: .sql migrations load as text (bunfig.toml and the build script say so),
// and `with { type: "file" }` imports give the file's path (inside the binary: /$bunfs/…).
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
// The admin page, bundled at build time by scripts/admin-bundle.ts.
declare module "keyward:admin-bundle" {
  export const script: string;
  export const style: string;
}
