"""The pure-Python EcGFp5 Schnorr implementation against published vectors and the Swift side.

ecgfp5_schnorr.py follows docs/signatures.md on its own; these tests check it against the
reference implementation's published vectors (pornin/ecgfp5, HorizenLabs/poseidon2) and against
vectors/schnorr-ecgfp5.json, which the Swift STARK library produced and its own tests check too.
"""
import json
import os

import pytest

import ecgfp5_schnorr as ec
from ecgfp5_schnorr import P, N

HERE = os.path.dirname(os.path.abspath(__file__))

# pornin/ecgfp5 (commit ce059c6), rust/src/field.rs `gfp5_ops` and python/ecGFp5.py `TestGFp5`.
A = ec.fe(9788683869780751860, 18176307314149915536, 17581807048943060475, 16706651231658143014, 424516324638612383)
B = ec.fe(1541862605911742196, 5168181287870979863, 10854086836664484156, 11043707160649157424, 943499178011708365)
A_PLUS_B = ec.fe(11330546475692494056, 4897744532606311078, 9989149816192960310, 9303614322892716117, 1368015502650320748)
A_MINUS_B = ec.fe(8246821263869009664, 13008126026278935673, 6727720212278576319, 5662944071008985590, 17927761216041488339)
A_TIMES_B = ec.fe(5924286846078684570, 12564682493825924142, 17116577152380521223, 5260948460973948760, 15673927150284637712)
A_OVER_B = ec.fe(6854214528917216670, 4676163378868226016, 7338977912708396522, 9922012834063967541, 11413717840889184601)

# pornin/ecgfp5 rust/src/curve.rs `ecgfp5_ops` and python/ecGFp5.py `TestEcGFp5`: w0 neutral,
# P1 random, P2 = e*P1, P3 = P1 + P2, P4 = 2*P1, P5 = 2*P2, P6 = 2*P1 + P2, P7 = P1 + 2*P2.
W = [
    (0, 0, 0, 0, 0),
    (12539254003028696409, 15524144070600887654, 15092036948424041984, 11398871370327264211, 10958391180505708567),
    (11001943240060308920, 17075173755187928434, 3940989555384655766, 15017795574860011099, 5548543797011402287),
    (246872606398642312, 4900963247917836450, 7327006728177203977, 13945036888436667069, 3062018119121328861),
    (8058035104653144162, 16041715455419993830, 7448530016070824199, 11253639182222911208, 6228757819849640866),
    (10523134687509281194, 11148711503117769087, 9056499921957594891, 13016664454465495026, 16494247923890248266),
    (12173306542237620, 6587231965341539782, 17027985748515888117, 17194831817613584995, 10056734072351459010),
    (9420857400785992333, 4695934009314206363, 14471922162341187302, 13395190104221781928, 16359223219913018041),
]
E = 841809598287430541331763924924406256080383779033370172527955679319982746101779529382447999363236
# Same sources: values that must not decode.
INVALID = [
    (13557832913345268708, 15669280705791538619, 8534654657267986396, 12533218303838131749, 5058070698878426028),
    (135036726621282077, 17283229938160287622, 13113167081889323961, 1653240450380825271, 520025869628727862),
    (6727960962624180771, 17240764188796091916, 3954717247028503753, 1002781561619501488, 4295357288570643789),
    (4578929270179684956, 3866930513245945042, 7662265318638150701, 9503686272550423634, 12241691520798116285),
    (16890297404904119082, 6169724643582733633, 9725973298012340311, 5977049210035183790, 11379332130141664883),
    (13777379982711219130, 14715168412651470168, 17942199593791635585, 6188824164976547520, 15461469634034461986),
]

# HorizenLabs/poseidon2 plain_implementations/src/poseidon2/poseidon2.rs,
# `poseidon2_tests_goldilocks::kats`: the permutation of [0, 1, ..., 11].
POSEIDON2_KAT = [
    0x01EAEF96BDF1C0C1, 0x1F0D2CC525B2540C, 0x6282C1DFE1E0358D, 0xE780D721F698E1E6,
    0x280C0B6F753D833B, 0x1B942DD5023156AB, 0x43F0DF3FCCCB8398, 0xE8E8190585489025,
    0x56BDBF72F77ADA22, 0x7911C32BF9DCD705, 0xEC467926508FBE67, 0x6A50450DDF85A6ED,
]


def test_field_vectors():
    assert ec.f_add(A, B) == A_PLUS_B
    assert ec.f_sub(A, B) == A_MINUS_B
    assert ec.f_mul(A, B) == A_TIMES_B
    assert ec.f_div(A, B) == A_OVER_B
    assert ec.f_mul(ec.f_inv(A), A) == ec.ONE
    assert ec.f_inv(ec.ZERO) == ec.ZERO


def test_square_roots_and_legendre():
    assert ec.f_legendre(ec.ZERO) == 0
    for x in (A, B, A_TIMES_B):
        sq = ec.f_mul(x, x)
        assert ec.f_legendre(sq) == 1
        assert ec.f_sqrt(sq) in (x, ec.f_neg(x))
        non_square = ec.f_scale(sq, 7)  # 7 is not a square in GF(p), so not in GF(p^5)
        assert ec.f_legendre(non_square) == -1
        assert ec.f_sqrt(non_square) is None


def test_decode_encode_and_invalid_points():
    points = [ec.decode(w) for w in W]
    assert all(pt is not None for pt in points)
    assert points[0] == ec.NEUTRAL
    for pt, w in zip(points, W):
        assert ec.encode(pt) == w
    for w in INVALID:
        assert ec.decode(w) is None
    # Non-canonical words: p + 4 is G's encoding 4 modulo p, p is the neutral's 0.
    assert ec.decode((4, 0, 0, 0, 0)) == ec.GENERATOR
    assert ec.decode((P + 4, 0, 0, 0, 0)) is None
    assert ec.decode((0, 0, P, 0, 0)) is None


def test_group_law_vectors():
    p = [ec.decode(w) for w in W]
    assert ec.encode(ec.g_add(p[1], p[2])) == W[3]
    assert ec.encode(ec.g_add(p[1], p[1])) == W[4]
    assert ec.encode(ec.g_add(p[2], p[2])) == W[5]
    assert ec.encode(ec.g_add(p[4], p[2])) == W[6]
    assert ec.encode(ec.g_add(p[5], p[1])) == W[7]
    assert ec.g_add(p[0], p[1]) == p[1]
    assert ec.g_add(p[1], ec.g_neg(p[1])) == ec.NEUTRAL
    assert ec.encode(ec.g_mul(E, p[1])) == W[2]


def test_scalar_multiplication_vector():
    # rust/src/curve.rs `ecgfp5_mul`: w2 = e*w1, e as 40 little-endian bytes.
    w1 = (7534507442095725921, 16658460051907528927, 12417574136563175256, 2750788641759288856, 620002843272906439)
    ebuf = bytes([
        0x1B, 0x18, 0x51, 0xC8, 0x1D, 0x22, 0xD4, 0x0D, 0x6D, 0x36, 0xEC, 0xCE, 0x54, 0x27, 0x41, 0x66,
        0x08, 0x14, 0x2F, 0x8F, 0xFF, 0x64, 0xB4, 0x76, 0x28, 0xCD, 0x3F, 0xF8, 0xAA, 0x25, 0x16, 0xD4,
        0xBA, 0xD0, 0xCC, 0x02, 0x1A, 0x44, 0x7C, 0x03,
    ])
    w2 = (9486104512504676657, 14312981644741144668, 5159846406177847664, 15978863787033795628, 3249948839313771192)
    assert ec.encode(ec.g_mul(int.from_bytes(ebuf, "little"), ec.decode(w1))) == w2


def test_generator_and_order():
    # README of pornin/ecgfp5: G has y/x = 4 and this x.
    x, y = ec.GENERATOR
    assert x == (12883135586176881569, 4356519642755055268, 5248930565894896907, 2165973894480315022, 2448410071095648785)
    assert y == ec.f_scale(x, 4)
    assert ec.g_mul(N - 1, ec.GENERATOR) == ec.g_neg(ec.GENERATOR)
    assert ec.g_add(ec.g_mul(N - 1, ec.GENERATOR), ec.GENERATOR) == ec.NEUTRAL


def test_poseidon2_vector():
    assert ec.poseidon2(list(range(12))) == POSEIDON2_KAT


def load_vectors():
    with open(os.path.join(HERE, "vectors", "schnorr-ecgfp5.json")) as f:
        return json.load(f)["vectors"]


@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: v["seed"][:8])
def test_swift_vectors(vector):
    seed, message = bytes.fromhex(vector["seed"]), vector["message"]
    _, _, public = ec.keypair(seed)
    assert list(public) == vector["public_key"]
    r, s = ec.sign(seed, message)
    assert list(r) == vector["r"]
    assert "0x%080x" % s == vector["s"]
    assert ec.signature_bytes(r, s).hex() == vector["signature"]
    parsed = ec.parse_signature(bytes.fromhex(vector["signature"]))
    assert parsed == (r, s)
    assert ec.verify(public, message, r, s)


def test_tampering_fails():
    vector = load_vectors()[2]
    seed, message = bytes.fromhex(vector["seed"]), vector["message"]
    public = tuple(vector["public_key"])
    r, s = tuple(vector["r"]), int(vector["s"], 16)
    assert ec.verify(public, message, r, s)
    assert not ec.verify(public, message + [0], r, s)
    assert not ec.verify(public, [m + 1 for m in message], r, s)
    assert not ec.verify(public, message, r, (s + 1) % N)
    other = tuple(load_vectors()[0]["public_key"])
    assert not ec.verify(other, message, r, s)
    moved_r = ec.encode(ec.g_add(ec.decode(r), ec.GENERATOR))
    assert not ec.verify(public, message, moved_r, s)
    # Strict parsing: s >= n, a word >= p, an invalid R, a wrong length.
    raw = ec.signature_bytes(r, s)
    assert ec.parse_signature(raw[:40] + N.to_bytes(40, "little")) is None
    assert ec.parse_signature(P.to_bytes(8, "little") + raw[8:]) is None
    assert ec.parse_signature(ec.word_bytes(INVALID[0]) + raw[40:]) is None
    assert ec.parse_signature(raw[:79]) is None
    assert not ec.verify(INVALID[0], message, r, s)
    assert not ec.verify(ec.ZERO, message, r, s)  # the neutral is not a public key
