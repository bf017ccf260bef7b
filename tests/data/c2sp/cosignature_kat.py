# Independent generator (pyca/cryptography, not vhgate) of the cosignature/v1 and Ed25519
# note-signature known answers used by tests/checkpoint.rs.
#
# Key: the seed of the "PeterNeumann" example signer key of golang.org/x/mod/sumdb/note
# (note_test.go), reused under other key names. Checkpoint and timestamp: the examples of
# c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature ("Ed25519 signed message").
import base64, hashlib, struct
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
seed = base64.b64decode(skey.split("+", 4)[4])[1:]
sk = Ed25519PrivateKey.from_private_bytes(seed)
pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

def key_id(name, sig_type):
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + pk).digest()[:4]

def vkey(name, sig_type):
    return "%s+%s+%s" % (name, key_id(name, sig_type).hex(),
                         base64.b64encode(bytes([sig_type]) + pk).decode())

body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
ts = 1679315147

log = "example.com/behind-the-sofa"
print("log vkey:   ", vkey(log, 0x01))
print("log line:   ", "\u2014 %s %s" % (log, base64.b64encode(key_id(log, 0x01) + sk.sign(body.encode())).decode()))

w = "witness.example/w1"
msg = ("cosignature/v1\ntime %d\n" % ts + body).encode()
print("cosig vkey: ", vkey(w, 0x04))
print("cosig line: ", "\u2014 %s %s" % (w, base64.b64encode(key_id(w, 0x04) + struct.pack(">Q", ts) + sk.sign(msg)).decode()))
