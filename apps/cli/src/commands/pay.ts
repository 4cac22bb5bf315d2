import { parseArgs } from "node:util";
import { payOnce } from "@quay/demo";
import { CliError } from "../errors";

/** `quay pay <seller-url>`: one paid request on the local devnet, from a buyer its friendbot funds. */
export async function payCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { devnet: { type: "string", default: "http://127.0.0.1:8000" } },
  });
  const sellerUrl = positionals[0];
  if (!sellerUrl) throw new CliError("usage: quay pay <seller-url> [--devnet http://127.0.0.1:8000]");
  const devnet = values.devnet.replace(/\/$/, "");
  const paid = await payOnce(sellerUrl, { rpcUrl: devnet, friendbotUrl: `${devnet}/friendbot` });
  process.stdout.write(`${JSON.stringify(paid, null, 2)}\n`);
  if (paid.status !== 200) throw new CliError(`the seller answered ${paid.status}`);
}
