"""Reads PACs (hex, one per line) on stdin; for each prints one JSON line with the fields
Samba's own NDR code (samba.dcerpc.krb5pac) decodes, and Samba's re-encoding (hex).
Used by samba-ndr.test.ts to check our PAC codec against Samba's."""
import binascii
import json
import sys

from samba.dcerpc import krb5pac
from samba.ndr import ndr_pack, ndr_unpack


def s(x):
    return None if x is None else x.string if hasattr(x, "string") else x


def logon(info):
    i3 = info.info3
    b = i3.base
    out = {
        "effectiveName": s(b.account_name), "fullName": s(b.full_name),
        "logonScript": s(b.logon_script), "profilePath": s(b.profile_path),
        "homeDirectory": s(b.home_directory), "homeDirectoryDrive": s(b.home_drive),
        "logonTime": str(b.logon_time), "logonCount": b.logon_count,
        "badPasswordCount": b.bad_password_count, "userId": b.rid,
        "primaryGroupId": b.primary_gid,
        "groupIds": [[g.rid, g.attributes] for g in (b.groups.rids or [])],
        "userFlags": b.user_flags, "logonServer": s(b.logon_server),
        "logonDomainName": s(b.logon_domain),
        "logonDomainId": None if b.domain_sid is None else str(b.domain_sid),
        "userAccountControl": b.acct_flags,
        "extraSids": [[str(x.sid), x.attributes] for x in (i3.sids or [])],
    }
    rg = info.resource_groups
    out["resourceGroupDomainSid"] = None if rg.domain_sid is None else str(rg.domain_sid)
    out["resourceGroupIds"] = [[g.rid, g.attributes] for g in (rg.groups.rids or [])]
    return out


for line in sys.stdin:
    pac = ndr_unpack(krb5pac.PAC_DATA, binascii.unhexlify(line.strip()))
    res = {"buffers": []}
    for buf in pac.buffers:
        d = {"type": buf.type}
        if buf.type == 1:
            d["logon"] = logon(buf.info.info)
        elif buf.type == 10:
            d["name"] = buf.info.account_name
            d["clientId"] = str(buf.info.logon_time)
        elif buf.type == 12:
            u = buf.info
            d["upn"] = u.upn_name
            d["dns"] = u.dns_domain_name
            d["flags"] = u.flags
            if u.flags & 2:
                d["samName"] = u.ex.sam_name_and_sid.samaccountname if hasattr(u.ex, "sam_name_and_sid") else u.ex.samaccountname
                ex = u.ex.sam_name_and_sid if hasattr(u.ex, "sam_name_and_sid") else u.ex
                d["sid"] = str(ex.objectsid)
        elif buf.type == 17:
            d["flagsLength"] = buf.info.flags_length
            d["flags"] = buf.info.flags
        elif buf.type == 18:
            d["sid"] = str(buf.info.sid)
        elif buf.type in (6, 7, 16, 19):
            d["signatureType"] = buf.info.type
            d["signature"] = binascii.hexlify(bytes(buf.info.signature)).decode()
        res["buffers"].append(d)
    res["repacked"] = binascii.hexlify(ndr_pack(pac)).decode()
    print(json.dumps(res))
