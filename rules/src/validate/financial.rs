//! Payment cards (IBANs are in [`super::iban`], VAT numbers in [`super::vat`]).

use super::checksum::{digits, luhn, number};

/// Payment card: a scheme's IIN range and a length that scheme issues (Visa, Mastercard, Amex,
/// Discover, JCB, Diners, UnionPay, Maestro, Dankort, UATP, Mir), then Luhn. (13-digit Luhn-valid
/// runs that are session ids are told apart by their context, not here: 13-digit Visa numbers
/// are still written in test data and old records.)
pub fn payment_card(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    let n = d.len();
    let prefix = |k: usize| -> u64 { number(&d[..k.min(n)]).unwrap_or(0) };
    let maestro = |p: u64| matches!(p, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763) && (12..=19).contains(&n);
    let scheme_ok = match d.first()? {
        // UATP (airline cards).
        b'1' => n == 15,
        b'4' => matches!(n, 13 | 16 | 19),
        b'5' => (((51..=55).contains(&prefix(2)) || prefix(4) == 5019) && n == 16) || maestro(prefix(4)),
        b'2' => ((2221..=2720).contains(&prefix(4)) && n == 16) || ((2200..=2204).contains(&prefix(4)) && (16..=19).contains(&n)),
        b'3' => {
            (matches!(prefix(2), 34 | 37) && n == 15)
                || ((3500..=3599).contains(&prefix(4)) && (16..=19).contains(&n))
                || (((300..=305).contains(&prefix(3)) || prefix(2) == 36 || prefix(2) == 38 || prefix(3) == 309) && (14..=19).contains(&n))
        }
        b'6' => ((prefix(4) == 6011 || (644..=649).contains(&prefix(3)) || prefix(2) == 65 || prefix(2) == 62) && (16..=19).contains(&n)) || maestro(prefix(4)),
        _ => false,
    };
    (scheme_ok && luhn(&d)).then(|| d.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_cards_need_a_scheme_and_luhn() {
        assert!(payment_card(b"4111 1111 1111 1111").is_some());
        assert!(payment_card(b"5500-0000-0000-0004").is_some());
        assert!(payment_card(b"378282246310005").is_some());
        assert!(payment_card(b"2223003122003222").is_some());
        assert!(payment_card(b"30569309025904").is_some(), "Diners 14 digits");
        assert!(payment_card(b"4111 1111 1111 1112").is_none(), "bad Luhn");
        assert!(payment_card(b"9111111111111111").is_none(), "no scheme starts with 9");
        assert!(payment_card(b"0000000000000000").is_none());
        assert!(payment_card(b"135410014004955").is_some(), "UATP");
        assert!(payment_card(b"5019717010103742").is_some(), "Dankort");
        assert!(payment_card(b"6759649826438453").is_some(), "Maestro UK");
    }
}
