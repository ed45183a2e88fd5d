// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>BTF type kinds (include/uapi/linux/btf.h, BTF_KIND_*), bits 24–28 of <c>btf_type.info</c>.</summary>
public enum BtfKind
{
    Unknown = 0,
    IntegerType = 1,
    PointerType = 2,
    Array = 3,
    Struct = 4,
    Union = 5,
    Enum = 6,
    Fwd = 7,
    Typedef = 8,
    Volatile = 9,
    Const = 10,
    Restrict = 11,
    Func = 12,
    FuncProto = 13,
    Var = 14,
    DataSec = 15,
    FloatingPoint = 16,
    DeclTag = 17,
    TypeTag = 18,
    Enum64 = 19,
}
