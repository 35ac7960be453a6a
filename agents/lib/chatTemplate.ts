/**
 * The protocol's chat template: how chat messages become the rendered prompt that `inputHash`
 * covers. Node and requester both render with this function, so the requester can sign the
 * ticket's inputHash without asking the node. Its keccak256 is the profile's `chatTemplate`.
 */
import { chatTemplateHash } from "./encodings.ts";
import type { Hex } from "viem";

export type ChatRole = "system" | "user" | "assistant";
export type ChatMessage = { role: ChatRole; content: string };

/** The template's identifying text (its keccak256 goes into the profile). */
export const CHAT_TEMPLATE_ID = "llmarket-chat-v1: <|{role}|>\\n{content}\\n ... <|assistant|>\\n";
export const CHAT_TEMPLATE_HASH: Hex = chatTemplateHash(CHAT_TEMPLATE_ID);

const ROLES = new Set<ChatRole>(["system", "user", "assistant"]);

/** Renders messages as `<|role|>\ncontent\n` each, then the assistant cue `<|assistant|>\n`. */
export function renderChat(messages: readonly ChatMessage[]): string {
  if (messages.length === 0) throw new RangeError("a chat needs at least one message");
  let out = "";
  for (const m of messages) {
    if (!ROLES.has(m.role)) throw new RangeError(`unknown chat role "${String(m.role)}"`);
    if (typeof m.content !== "string") throw new TypeError("message content must be a string");
    out += `<|${m.role}|>\n${m.content}\n`;
  }
  return `${out}<|assistant|>\n`;
}
