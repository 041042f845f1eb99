/** npm run build: dist/keyward for this machine. */
import { compile } from "./compile";

await compile("./dist/keyward");
console.log("built dist/keyward");
