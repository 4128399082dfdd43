// COMPRESS=DEFLATE (RFC 4978): the connection is compressed both ways from the byte after the
// tagged OK (the server's output) and after the command's CRLF (the client's). After TLS when
// there is TLS (STARTTLS comes before authentication, COMPRESS after). Text the client
// pipelined after the command is discarded: it MUST wait for the answer.
import { bad } from "../errors.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";

export const compressCommand = defineCommand({
  names: ["COMPRESS"],
  states: AUTHENTICATED_OR_SELECTED,
  capabilities: (session) =>
    session.state !== "not-authenticated" && !session.compressed ? ["COMPRESS=DEFLATE"] : [],
  async handle(command, context) {
    const session = context.session;
    if (session.compressed) throw bad("DEFLATE compression is active already", "COMPRESSIONACTIVE");
    if (command.args.mechanism !== "DEFLATE")
      throw bad(`unknown compression mechanism ${command.args.mechanism}; this server offers DEFLATE`);
    session.prepareCompression();
    return { text: "DEFLATE active", afterResponse: () => session.startCompression() };
  },
});
