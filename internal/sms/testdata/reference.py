#!/usr/bin/env python3
"""Independent reference PDUs for the sms tests (3GPP TS 23.040 / 23.038), written apart from
the Go codec: run `python3 testdata/reference.py` and compare with the constants in
reference_test.go. Packing is done by building a bit string, not by the Go code's shifts."""

BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
         "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
EXT = {'\f': 0x0A, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2F, '[': 0x3C, '~': 0x3D, ']': 0x3E,
       '|': 0x40, '€': 0x65}
assert len(BASIC) == 128


def septets(text):
    out = []
    for ch in text:
        if ch in EXT:
            out += [0x1B, EXT[ch]]
        else:
            out.append(BASIC.index(ch))
    return out


def pack(sep, fill_bits=0, header=b""):
    # bit string, least significant bit of each octet first
    bits = []
    for byte in header:
        bits += [(byte >> i) & 1 for i in range(8)]
    bits += [0] * fill_bits
    for s in sep:
        bits += [(s >> i) & 1 for i in range(7)]
    while len(bits) % 8:
        bits.append(0)
    return bytes(sum(bits[o * 8 + i] << i for i in range(8)) for o in range(len(bits) // 8))


def address(number):
    toa = 0x91 if number.startswith('+') else 0x81
    d = number.lstrip('+')
    sw = d + ('F' if len(d) % 2 else '')
    body = bytes(int(sw[i + 1] + sw[i], 16) for i in range(0, len(sw), 2))
    return bytes([len(d), toa]) + body


def submit(to, ud, udl, dcs, udhi=False, srr=False, vp=0xA7):
    fo = 0x01 | 0x10 | (0x20 if srr else 0) | (0x40 if udhi else 0)
    tpdu = bytes([fo, 0]) + address(to) + bytes([0, dcs, vp, udl]) + ud
    return "00" + tpdu.hex().upper(), len(tpdu)


def ucs2(text):
    return text.encode('utf-16-be')


cases = {}
cases["hellohello"] = submit("+46708251358", pack(septets("hellohello")), 10, 0, vp=0xAA)
t = "告警：3号楼水泵故障"
cases["chinese"] = submit("+8613800138000", ucs2(t), len(ucs2(t)), 8)
t = "Pump €5 [A]{b}"
s = septets(t)
cases["ext"] = submit("10086", pack(s), len(s), 0, srr=True)
t = "Fire 🔥 alarm"
cases["emoji"] = submit("+8613800138000", ucs2(t), len(ucs2(t)), 8)
# Two-part GSM text: 200 characters; part 1 carries 153 septets after a 6-octet header and one
# fill bit (TS 23.040, 9.2.3.24), part 2 the remaining 47.
t = "".join(chr(ord('a') + i % 26) for i in range(200))
s = septets(t)
for seq, chunk in ((1, s[:153]), (2, s[153:])):
    hdr = bytes([5, 0, 3, 0x2A, 2, seq])
    cases["long%d" % seq] = submit("+8613800138000", pack(chunk, fill_bits=1, header=hdr), 7 + len(chunk), 0, udhi=True)

for k, (h, n) in cases.items():
    print(k, n, h)
