//! Masking (RFC 6455 §5.3): every frame from a client is XORed with a
//! 4-byte key, eight bytes at a time here.

/// XORs `data` with the masking key as if `data` began `offset` bytes into the payload
/// (RFC 6455 §5.3).
///
/// Masking and unmasking are the same operation.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: u64) {
    let mut k = key;
    // offset % 4 < 4: the rotation cannot exceed the array.
    k.rotate_left((offset % 4) as usize);
    let [a, b, c, d] = k;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let (chunks, rest) = data.as_chunks_mut::<8>();
    for chunk in chunks {
        *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
    }
    // The tail starts a multiple of 8 bytes in, so the key phase is unchanged.
    for (byte, m) in rest.iter_mut().zip(k.iter().cycle()) {
        *byte ^= m;
    }
}
