// The one name rule (mykerio/protocol/text.py; docs/protocol.md, section 3), checked before a name
// is sent so the member sees the same message the hub would answer with.
export const NAME_CHARS = 100;
const CONTROL = /[\p{Cc}\p{Cs}]/u; // C0, DEL, C1 (such as U+009B) and lone surrogates
const SPACES = /[\p{Zs}\p{Zl}\p{Zp}]+/gu;

export const MESSAGES = {
  required: "Enter a name for the appliance.",
  max_length: `A name can have at most ${NAME_CHARS} characters.`,
  control_characters:
    "A name cannot contain control characters (such as tabs, line breaks, DEL or U+009B).",
};

// Leading and trailing spaces removed, each inner run of spaces made one space.
export function tidyName(text) {
  return text.replace(SPACES, " ").replace(/^ | $/g, "");
}

// The rule a tidied name breaks ("required", "max_length", "control_characters"), or "".
export function nameProblem(name) {
  if (CONTROL.test(name)) return "control_characters";
  if (!name) return "required";
  if ([...name].length > NAME_CHARS) return "max_length"; // code points, as the hub counts
  return "";
}

// {name, rule, message} for what the member typed: `rule` and `message` empty when it is fine.
export function checkName(text) {
  const name = tidyName(text);
  const rule = nameProblem(name);
  return { name, rule, message: rule ? MESSAGES[rule] : "" };
}
