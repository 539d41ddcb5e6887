const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

export function formatPrice(cents: number): string {
  return money.format(cents / 100);
}

/** Cents from what a person types ("11.5", "11.50", "$11"); null if it is not a price the API takes. */
export function parsePrice(text: string): number | null {
  const match = /^\s*\$?\s*(\d{1,5})(?:[.,](\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  const whole = Number(match[1]);
  const fraction = match[2] === undefined ? 0 : Number(match[2].padEnd(2, "0"));
  const cents = whole * 100 + fraction;
  return cents <= 1_000_000 ? cents : null;
}
