/**
 * The byte-level SentencePiece vocabulary of generated models: `<unk>`, `<s>`, `</s>`, the 256
 * byte tokens `<0x00>`..`<0xFF>` (token type 6, BYTE) and `▁` (the SPM space). llama.cpp's SPM
 * tokenizer falls back to byte tokens for every character not in the vocabulary, so any UTF-8 text
 * round-trips.
 */
export const TOKEN_UNK = 0;
export const TOKEN_BOS = 1;
export const TOKEN_EOS = 2;
export const FIRST_BYTE_TOKEN = 3;
export const SPACE_TOKEN = 3 + 256;

/** llama.cpp `llama_token_type`: 1 normal, 2 unknown, 3 control, 6 byte. */
const TYPE_NORMAL = 1;
const TYPE_UNKNOWN = 2;
const TYPE_CONTROL = 3;
const TYPE_BYTE = 6;

export type ByteVocab = { tokens: string[]; scores: number[]; types: number[] };

export function byteVocab(): ByteVocab {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [TYPE_UNKNOWN, TYPE_CONTROL, TYPE_CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TYPE_BYTE);
  }
  tokens.push("\u2581");
  types.push(TYPE_NORMAL);
  return { tokens, scores: tokens.map(() => 0), types };
}
