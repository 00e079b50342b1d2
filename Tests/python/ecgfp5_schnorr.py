"""EcGFp5 Schnorr signatures with Poseidon2 challenges, in plain Python: slow, for tests only.

An independent implementation of docs/signatures.md, written from Pornin's paper (ePrint 2022/274)
and the Poseidon2 instance of HorizenLabs/poseidon2, not from the Swift code. It computes the group
the way the paper defines it, literally: elements are the points of y^2 = x(x^2 + 2x + 263z) over
GF(p^5) that are not of n-torsion, the neutral element is N = (0, 0), and P (+) Q = P + Q + N with
affine chord-and-tangent formulas. (The Swift code works instead in the n-torsion subgroup of the
short Weierstrass form with projective complete formulas, so agreement between the two is a real
check.) Nothing here is constant-time.
"""

P = 2**64 - 2**32 + 1
N = 1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241

# --- GF(p^5) = GF(p)[z] / (z^5 - 3); an element is a tuple of five coefficients, lowest first.

ZERO = (0, 0, 0, 0, 0)
ONE = (1, 0, 0, 0, 0)


def fe(*c):
    return tuple(x % P for x in c) + (0,) * (5 - len(c))


def f_add(a, b):
    return tuple((x + y) % P for x, y in zip(a, b))


def f_sub(a, b):
    return tuple((x - y) % P for x, y in zip(a, b))


def f_neg(a):
    return tuple(-x % P for x in a)


def f_scale(a, k):
    return tuple(x * k % P for x in a)


def f_mul(a, b):
    # Schoolbook product of two degree-4 polynomials, then z^5 = 3.
    t = [0] * 9
    for i in range(5):
        for j in range(5):
            t[i + j] += a[i] * b[j]
    return tuple((t[i] + 3 * (t[i + 5] if i + 5 < 9 else 0)) % P for i in range(5))


def f_pow(a, e):
    result, base = ONE, a
    while e:
        if e & 1:
            result = f_mul(result, base)
        base = f_mul(base, base)
        e >>= 1
    return result


# Frobenius: (sum a_i z^i)^p = sum a_i (z^p)^i, and z^p = z * 3^((p-1)/5).
_OMEGA = pow(3, (P - 1) // 5, P)


def f_frobenius(a, k=1):
    w = pow(_OMEGA, k, P)
    return tuple(a[i] * pow(w, i, P) % P for i in range(5))


def f_norm_parts(a):
    """(a^(r-1), a^r) with r = 1 + p + p^2 + p^3 + p^4; a^r lies in GF(p)."""
    t = f_mul(f_frobenius(a, 1), f_frobenius(a, 2))  # a^(p + p^2)
    rm1 = f_mul(t, f_frobenius(t, 2))  # a^(p + p^2 + p^3 + p^4)
    norm = f_mul(a, rm1)
    assert norm[1:] == (0, 0, 0, 0)
    return rm1, norm[0]


def f_inv(a):
    """1/a, and 0 for 0."""
    rm1, norm = f_norm_parts(a)
    return f_scale(rm1, pow(norm, P - 2, P))


def f_div(a, b):
    return f_mul(a, f_inv(b))


def f_legendre(a):
    """1 for a non-zero square, -1 for a non-square, 0 for zero."""
    if a == ZERO:
        return 0
    _, norm = f_norm_parts(a)
    return 1 if pow(norm, (P - 1) // 2, P) == 1 else -1


_Q5 = (P**5 - 1) >> 32  # p^5 - 1 = 2^32 * _Q5, _Q5 odd


def _non_square():
    c = 2
    while f_legendre(fe(c, 1)) != -1:
        c += 1
    return fe(c, 1)


_NON_SQUARE = _non_square()


def f_sqrt(a):
    """A square root of a by Tonelli-Shanks in GF(p^5), or None when a is not a square."""
    if a == ZERO:
        return ZERO
    if f_legendre(a) != 1:
        return None
    m, c = 32, f_pow(_NON_SQUARE, _Q5)
    t, r = f_pow(a, _Q5), f_pow(a, (_Q5 + 1) // 2)
    while t != ONE:
        i, t2 = 0, t
        while t2 != ONE:
            t2 = f_mul(t2, t2)
            i += 1
        b = c
        for _ in range(m - i - 1):
            b = f_mul(b, b)
        m, c = i, f_mul(b, b)
        t, r = f_mul(t, c), f_mul(r, b)
    assert f_mul(r, r) == a
    return r


# --- The curve y^2 = x^3 + a x^2 + b x, a = 2, b = 263 z; affine points, None is infinity.

A = fe(2)
B = fe(0, 263)
NEUTRAL = (ZERO, ZERO)  # N = (0, 0), the point of order 2: the neutral element of the group


def _curve_add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if f_add(y1, y2) == ZERO:
            return None
        # tangent: (3x^2 + 2ax + b) / 2y
        num = f_add(f_add(f_scale(f_mul(x1, x1), 3), f_scale(f_mul(A, x1), 2)), B)
        lam = f_div(num, f_scale(y1, 2))
    else:
        lam = f_div(f_sub(y2, y1), f_sub(x2, x1))
    x3 = f_sub(f_sub(f_sub(f_mul(lam, lam), A), x1), x2)
    y3 = f_sub(f_mul(lam, f_sub(x1, x3)), y1)
    return (x3, y3)


def on_curve(pt):
    x, y = pt
    rhs = f_mul(x, f_add(f_add(f_mul(x, x), f_mul(A, x)), B))
    return f_mul(y, y) == rhs


def g_add(p1, p2):
    """The group law: P (+) Q = P + Q + N on the curve."""
    s = _curve_add(_curve_add(p1, p2), NEUTRAL)
    assert s is not None
    return s


def g_neg(pt):
    return (pt[0], f_neg(pt[1]))


def g_mul(k, pt):
    """k (x) P by double-and-add, for any integer k >= 0."""
    result, base = NEUTRAL, pt
    k %= N
    while k:
        if k & 1:
            result = g_add(result, base)
        base = g_add(base, base)
        k >>= 1
    return result


def encode(pt):
    """w = y / x, and 0 for the neutral N."""
    x, y = pt
    return f_div(y, x)


def decode(w):
    """The group element whose encoding is w, or None.

    The points with y = w x have x^2 + (a - w^2) x + b = 0; the two roots multiply to b, which is
    not a square, so exactly one root is not a square, and that one is the point outside the
    n-torsion.
    """
    w = tuple(w)
    if len(w) != 5 or any(not (0 <= c < P) for c in w):
        return None
    if w == ZERO:
        return NEUTRAL
    e = f_sub(f_mul(w, w), A)
    root = f_sqrt(f_sub(f_mul(e, e), f_scale(B, 4)))
    if root is None:
        return None
    half = pow(2, P - 2, P)
    for x in (f_scale(f_add(e, root), half), f_scale(f_sub(e, root), half)):
        if f_legendre(x) == -1:
            pt = (x, f_mul(w, x))
            assert on_curve(pt)
            return pt
    return None


GENERATOR = decode(fe(4))

# --- Poseidon2 over Goldilocks, width 12 (HorizenLabs/poseidon2, POSEIDON2_GOLDILOCKS_12_PARAMS).

POSEIDON2_EXTERNAL = [
    [
        0x13DCF33ABA214F46, 0x30B3B654A1DA6D83, 0x1FC634ADA6159B56,
        0x937459964DC03466, 0xEDD2EF2CA7949924, 0xEDE9AFFDE0E22F68,
        0x8515B9D6BAC9282D, 0x6B5C07B4E9E900D8, 0x1EC66368838C8A08,
        0x9042367D80D1FBAB, 0x400283564A3C3799, 0x4A00BE0466BCA75E,
    ],
    [
        0x7913BEEE58E3817F, 0xF545E88532237D90, 0x22F8CB8736042005,
        0x6F04990E247A2623, 0xFE22E87BA37C38CD, 0xD20E32C85FFE2815,
        0x117227674048FE73, 0x4E9FB7EA98A6B145, 0xE0866C232B8AF08B,
        0x00BBC77916884964, 0x7031C0FB990D7116, 0x240A9E87CF35108F,
    ],
    [
        0x2E6363A5A12244B3, 0x5E1C3787D1B5011C, 0x4132660E2A196E8B,
        0x3A013B648D3D4327, 0xF79839F49888EA43, 0xFE85658EBAFE1439,
        0xB6889825A14240BD, 0x578453605541382B, 0x4508CDA8F6B63CE9,
        0x9C3EF35848684C91, 0x0812BDE23C87178C, 0xFE49638F7F722C14,
    ],
    [
        0x8E3F688CE885CBF5, 0xB8E110ACF746A87D, 0xB4B2E8973A6DABEF,
        0x9E714C5DA3D462EC, 0x6438F9033D3D0C15, 0x24312F7CF1A27199,
        0x23F843BB47ACBF71, 0x9183F11A34BE9F01, 0x839062FBB9D45DBF,
        0x24B56E7E6C2E43FA, 0xE1683DA61C962A72, 0xA95C63971A19BFA7,
    ],
    [
        0xC68BE7C94882A24D, 0xAF996D5D5CDAEDD9, 0x9717F025E7DAF6A5,
        0x6436679E6E7216F4, 0x8A223D99047AF267, 0xBB512E35A133BA9A,
        0xFBBF44097671AA03, 0xF04058EBF6811E61, 0x5CCA84703FAC7FFB,
        0x9B55C7945DE6469F, 0x8E05BF09808E934F, 0x2EA900DE876307D7,
    ],
    [
        0x7748FFF2B38DFB89, 0x6B99A676DD3B5D81, 0xAC4BB7C627CF7C13,
        0xADB6EBE5E9E2F5BA, 0x2D33378CAFA24AE3, 0x1E5B73807543F8C2,
        0x09208814BFEBB10F, 0x782E64B6BB5B93DD, 0xADD5A48EAC90B50F,
        0xADD4C54C736EA4B1, 0xD58DBB86ED817FD8, 0x6D5ED1A533F34DDD,
    ],
    [
        0x28686AA3E36B7CB9, 0x591ABD3476689F36, 0x047D766678F13875,
        0xA2A11112625F5B49, 0x21FD10A3F8304958, 0xF9B40711443B0280,
        0xD2697EB8B2BDE88E, 0x3493790B51731B3F, 0x11CAF9DD73764023,
        0x7ACFB8F72878164E, 0x744EC4DB23CEFC26, 0x1E00E58F422C6340,
    ],
    [
        0x21DD28D906A62DDA, 0xF32A46AB5F465B5F, 0xBFCE13201F3F7E6B,
        0xF30D2E7ADB5304E2, 0xECDF4EE4ABAD48E9, 0xF94E82182D395019,
        0x4EE52E3744D887C5, 0xA1341C7CAC0083B2, 0x2302FB26C30C834A,
        0xAEA3C587273BF7D3, 0xF798E24961823EC7, 0x962DEBA3E9A2CD94,
    ],
]

POSEIDON2_PARTIAL = [
    0x4ADF842AA75D4316, 0xF8FBB871AA4AB4EB, 0x68E85B6EB2DD6AEB,
    0x07A0B06B2D270380, 0xD94E0228BD282DE4, 0x8BDD91D3250C5278,
    0x209C68B88BBA778F, 0xB5E18CDAB77F3877, 0xB296A3E808DA93FA,
    0x8370ECBDA11A327E, 0x3F9075283775DAD8, 0xB78095BB23C6AA84,
    0x3F36B9FE72AD4E5F, 0x69BC96780B10B553, 0x3F1D341F2EB7B881,
    0x4E939E9815838818, 0xDA366B3AE2A31604, 0xBC89DB1E7287D509,
    0x6102F411F9EF5659, 0x58725C5E7AC1F0AB, 0x0DF5856C798883E7,
    0xF7BB62A8DA4C961B,
]

POSEIDON2_DIAGONAL_MINUS_ONE = [
    0xC3B6C08E23BA9300, 0xD84B5DE94A324FB6, 0x0D0C371C5B35B84F,
    0x7964F570E7188037, 0x5DAF18BBD996604B, 0x6743BC47B9595257,
    0x5528B9362C59BB70, 0xAC45E25B7127B68B, 0xA2077D7DFBB606B5,
    0xF3FAAC6FAEE378AE, 0x0C6388B51545E883, 0xD27DBB6944917B60,
]

_M4 = [[5, 7, 1, 3], [4, 6, 1, 1], [1, 3, 5, 7], [1, 1, 4, 6]]


def _external_layer(s):
    m = []
    for block in range(0, 12, 4):
        m += [sum(_M4[r][c] * s[block + c] for c in range(4)) % P for r in range(4)]
    col = [(m[i] + m[i + 4] + m[i + 8]) % P for i in range(4)]
    return [(m[i] + col[i % 4]) % P for i in range(12)]


def poseidon2(state):
    """The Poseidon2 permutation of 12 Goldilocks elements."""
    s = _external_layer([x % P for x in state])
    for r in range(8):
        if r == 4:
            for c in POSEIDON2_PARTIAL:
                s[0] = pow((s[0] + c) % P, 7, P)
                total = sum(s) % P
                s = [(s[i] * POSEIDON2_DIAGONAL_MINUS_ONE[i] + total) % P for i in range(12)]
        s = _external_layer([pow((s[i] + POSEIDON2_EXTERNAL[r][i]) % P, 7, P) for i in range(12)])
    return s


def tag(text):
    """A domain tag: eight ASCII bytes read as a big-endian integer."""
    raw = text.encode()
    assert len(raw) == 8
    return int.from_bytes(raw, "big")


TAG_SECRET = tag("zkt/sk01")
TAG_NONCE_KEY = tag("zkt/nk01")
TAG_NONCE = tag("zkt/nc01")
TAG_CHALLENGE = tag("zkt/ch01")


def sponge(domain, words):
    """Eight output words: state [0]*8 + [len, domain, 0, 0]; add 8 words at a time, permute."""
    words = [w % P for w in words]
    state = [0] * 8 + [len(words), domain, 0, 0]
    blocks = [words[i:i + 8] for i in range(0, len(words), 8)] or [[]]
    for block in blocks:
        for i, w in enumerate(block):
            state[i] = (state[i] + w) % P
        state = poseidon2(state)
    return state[:8]


def words_to_scalar(words):
    """sum(words[i] * p^i) mod n."""
    return sum(w * P**i for i, w in enumerate(words)) % N


def seed_words(seed):
    assert len(seed) == 32
    return [int.from_bytes(seed[i:i + 4], "little") for i in range(0, 32, 4)]


def keypair(seed):
    """(secret scalar d, nonce key, public key encoding) from 32 seed bytes."""
    sw = seed_words(seed)
    d = words_to_scalar(sponge(TAG_SECRET, sw))
    assert d != 0
    nonce_key = sponge(TAG_NONCE_KEY, sw)
    public = encode(g_mul(d, GENERATOR))
    return d, nonce_key, public


def challenge(r, public, message):
    return words_to_scalar(sponge(TAG_CHALLENGE, list(r) + list(public) + list(message)))


def sign(seed, message):
    """The signature (R's encoding, s) of a list of Goldilocks elements."""
    d, nonce_key, public = keypair(seed)
    k = words_to_scalar(sponge(TAG_NONCE, nonce_key + list(public) + list(message)))
    assert k != 0
    r = encode(g_mul(k, GENERATOR))
    s = (k + challenge(r, public, message) * d) % N
    return r, s


def verify(public, message, r, s):
    q = decode(public)
    big_r = decode(r)
    if q is None or q == NEUTRAL or big_r is None or not (0 <= s < N):
        return False
    e = challenge(r, public, message)
    return g_mul(s, GENERATOR) == g_add(big_r, g_mul(e, q))


def word_bytes(words):
    return b"".join(w.to_bytes(8, "little") for w in words)


def signature_bytes(r, s):
    """80 bytes: R's five words, 8 bytes little-endian each, then s as 40 bytes little-endian."""
    return word_bytes(r) + s.to_bytes(40, "little")


def parse_signature(raw):
    """(r, s) from 80 bytes, or None when a word is not below p, s is not below n, or R is invalid."""
    if len(raw) != 80:
        return None
    r = tuple(int.from_bytes(raw[i:i + 8], "little") for i in range(0, 40, 8))
    s = int.from_bytes(raw[40:], "little")
    if any(w >= P for w in r) or s >= N or decode(r) is None:
        return None
    return r, s
