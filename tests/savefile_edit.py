"""Save files for the tests to read and damage (docs/savefile.md): the
sections, their CRC32C, and payloads replaced with a good checksum.
Import with sys.path.insert(0, os.environ["STUBVISOR_SRC"] + "/tests")."""
import struct

HEADER_SIZE, SECTION_SIZE = 32, 24
CONFIG, VM, VCPU, MEMORY, DM, END = 1, 2, 3, 4, 5, 6
VM_HEAD_SIZE = 16


def crc32c(data, crc=0):
    """CRC32C (Castagnoli), continued from crc."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def section(t, payload):
    """One section: its header (with the payload's checksum) and payload."""
    return struct.pack("<IIQII", t, 0, len(payload), crc32c(payload), 0) + bytes(payload)


def sections(data):
    """type -> (payload offset, length) of the first section of each type."""
    found, off = {}, HEADER_SIZE
    while off + SECTION_SIZE <= len(data):
        t, _, n = struct.unpack_from("<IIQ", data, off)
        found.setdefault(t, (off + SECTION_SIZE, n))
        off += SECTION_SIZE + n
    return found


def replace(data, t, payload):
    """data with section t's payload replaced (a good checksum), as bytearray."""
    o, n = sections(data)[t]
    return bytearray(data[:o - SECTION_SIZE]) + section(t, payload) + data[o + n:]


def records(payload, head):
    """(tag, data offset, length) of each record after a head of `head` bytes."""
    pos = head
    while pos + 8 <= len(payload):
        tag, dlen = struct.unpack_from("<II", payload, pos)
        yield tag, pos + 8, dlen
        pos += 8 + (dlen + 7) // 8 * 8
