// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>Decodes translation blocks with Iced and lists their I/O instructions in order.</summary>
internal static class IoSiteDecoder
{
    /// <summary>VMX instruction-information segment encodings (SDM: 0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS).</summary>
    public const int SegmentEs = 0;
    public const int SegmentDs = 3;

    public static IoSite[] DecodeBlock(byte[] code, ulong linear, int bitness)
    {
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(code), linear);
        ulong end = linear + (ulong)code.Length;
        List<IoSite>? sites = null;
        while (decoder.IP < end)
        {
            decoder.Decode(out Instruction instr);
            if (instr.IsInvalid)
            {
                break;
            }

            IoSite? site = ToSite(instr, code, linear, bitness);
            if (site is not null)
            {
                (sites ??= []).Add(site);
            }
        }

        return sites is null ? [] : [.. sites];
    }

    private static IoSite? ToSite(in Instruction instr, byte[] code, ulong blockStart, int bitness)
    {
        bool isIn;
        bool isString;
        int size;
        switch (instr.Mnemonic)
        {
            case Mnemonic.In:
                isIn = true;
                isString = false;
                size = instr.Op0Register.GetSize();
                break;
            case Mnemonic.Out:
                isIn = false;
                isString = false;
                size = instr.Op1Register.GetSize();
                break;
            case Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd:
                isIn = true;
                isString = true;
                size = instr.Mnemonic == Mnemonic.Insb ? 1 : instr.Mnemonic == Mnemonic.Insw ? 2 : 4;
                break;
            case Mnemonic.Outsb or Mnemonic.Outsw or Mnemonic.Outsd:
                isIn = false;
                isString = true;
                size = instr.Mnemonic == Mnemonic.Outsb ? 1 : instr.Mnemonic == Mnemonic.Outsw ? 2 : 4;
                break;
            default:
                return null;
        }

        int offset = (int)(instr.IP - blockStart);
        bool immediate = !isString && (instr.Op0Kind == OpKind.Immediate8 || instr.Op1Kind == OpKind.Immediate8);
        int addressSize = isString ? AddressSizeOf(instr) : 0;
        int segment = SegmentEs;
        if (isString && !isIn)
        {
            segment = instr.MemorySegment switch
            {
                Register.ES => 0,
                Register.CS => 1,
                Register.SS => 2,
                Register.FS => 4,
                Register.GS => 5,
                _ => SegmentDs,
            };
        }

        return new IoSite
        {
            Linear = instr.IP,
            Bytes = code.AsSpan(offset, instr.Length).ToArray(),
            IsIn = isIn,
            IsString = isString,
            IsRep = isString && (instr.HasRepPrefix || instr.HasRepePrefix || instr.HasRepnePrefix),
            IsImmediate = immediate,
            Size = size,
            AddressSize = addressSize,
            Segment = segment,
            Bitness = bitness,
        };
    }

    private static int AddressSizeOf(in Instruction instr)
    {
        OpKind kind = instr.Mnemonic is Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd ? instr.Op0Kind : instr.Op1Kind;
        return kind switch
        {
            OpKind.MemoryESRDI or OpKind.MemorySegRSI => 64,
            OpKind.MemoryESEDI or OpKind.MemorySegESI => 32,
            _ => 16,
        };
    }

    /// <summary>Disassembles one instruction in Intel syntax.</summary>
    public static string Format(ReadOnlySpan<byte> bytes, int bitness, ulong rip)
    {
        if (bytes.IsEmpty)
        {
            return "??";
        }

        var decoder = Decoder.Create(bitness is 16 or 32 or 64 ? bitness : 64, new ByteArrayCodeReader(bytes.ToArray()), rip);
        decoder.Decode(out Instruction instr);
        var formatter = new IntelFormatter();
        var output = new StringOutput();
        formatter.Format(instr, output);
        return output.ToStringAndReset();
    }
}
