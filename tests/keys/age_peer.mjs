// Drives the npm package age-encryption (the age author's TypeScript implementation) for
// tests/keys/test_age_pq_peer.py. Usage, with AGE_PEER_MODULE set to its dist/index.js:
//   node age_peer.mjs keygen                 -> "<identity>\n<recipient>\n" (hybrid PQ)
//   node age_peer.mjs encrypt <recipient>    stdin bytes -> stdout armoured age file
//   node age_peer.mjs decrypt <identity...>  stdin armoured age file -> stdout bytes
import { pathToFileURL } from "node:url";

const age = await import(pathToFileURL(process.env.AGE_PEER_MODULE).href);

async function stdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

const [command, ...args] = process.argv.slice(2);
if (command === "keygen") {
  const identity = await age.generateHybridIdentity();
  const recipient = await age.identityToRecipient(identity);
  process.stdout.write(`${identity}\n${recipient}\n`);
} else if (command === "encrypt") {
  const e = new age.Encrypter();
  for (const r of args) e.addRecipient(r);
  process.stdout.write(age.armor.encode(await e.encrypt(await stdin())));
} else if (command === "decrypt") {
  const d = new age.Decrypter();
  for (const i of args) d.addIdentity(i);
  const input = new TextDecoder().decode(await stdin());
  process.stdout.write(await d.decrypt(age.armor.decode(input)));
} else {
  process.stderr.write(`unknown command ${command}\n`);
  process.exit(2);
}
