interface Props {
  currencies: readonly string[] | undefined
}

/** Money is null where an exchange rate is missing: say which currencies. */
export function MissingRates({ currencies }: Props) {
  if (!currencies || currencies.length === 0) return null
  return <p className="note">Some amounts are unknown: no exchange rate yet for {currencies.join(', ')}.</p>
}
