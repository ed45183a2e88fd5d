// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// The last instructions of the boot loader, run in long mode from a flat64-style start: they load a GDT with
/// __BOOT_CS (0x10, 64-bit code) and __BOOT_DS (0x18, flat data), load DS/ES/SS with __BOOT_DS, point RSI at
/// boot_params, clear EBP/EDI/EBX, keep interrupts off and enter startup_64 with CS = __BOOT_CS by a far return —
/// exactly the state boot.rst's "64-bit Boot Protocol" requires at the kernel entry. (QEMU reaches the kernel through
/// SeaBIOS and its linuxboot option ROM the same way: loader code runs before the kernel's first instruction.)
/// </summary>
public static class LinuxEntryStub
{
    /// <summary>__BOOT_CS.</summary>
    public const ushort BootCodeSelector = 0x10;

    /// <summary>__BOOT_DS.</summary>
    public const ushort BootDataSelector = 0x18;

    /// <summary>Null, null, __BOOT_CS (64-bit code, DPL 0), __BOOT_DS (data, 4 GiB flat, writable).</summary>
    private static readonly ulong[] s_gdt = [0, 0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF];

    /// <summary>Assembles the stub for <paramref name="address"/>; it enters <paramref name="entry"/>.</summary>
    public static byte[] Build(ulong address, ulong entry, ulong bootParams, ulong stackTop)
    {
        var a = new Assembler(64);
        Label gdt = a.CreateLabel();
        Label gdtr = a.CreateLabel();
        a.cli();
        a.lgdt(__[gdtr]);
        a.mov(eax, BootDataSelector);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.mov(rsp, stackTop);
        a.mov(rsi, bootParams);
        a.xor(ebp, ebp);
        a.xor(edi, edi);
        a.xor(ebx, ebx);
        a.push(BootCodeSelector);
        a.mov(rax, entry);
        a.push(rax);
        a.db(0x48, 0xCB); // retfq (REX.W RETF): pops RIP, then CS
        a.Label(ref gdt);
        foreach (ulong descriptor in s_gdt)
        {
            a.dq(descriptor);
        }

        a.Label(ref gdtr);
        a.dw((ushort)((s_gdt.Length * 8) - 1));
        using var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), address, BlockEncoderOptions.ReturnNewInstructionOffsets);
        ulong gdtAddress = result.GetLabelRIP(gdt);
        byte[] bytes = stream.ToArray();
        var stub = new byte[bytes.Length + 8];
        bytes.CopyTo(stub, 0);
        BitConverter.TryWriteBytes(stub.AsSpan(bytes.Length), gdtAddress);
        return stub;
    }
}
