// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests.Linux;
using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

public sealed class LinuxEntryStubTests
{
    [Test]
    public void Build_EntersStartup64AsTheBootProtocolRequires()
    {
        // Arrange
        const ulong at = 0x7_4000;

        // Act
        byte[] stub = LinuxEntryStub.Build(at, 0x10_0200, 0x1_0000, 0x8_0000);

        // Assert: the instruction sequence (boot.rst "64-bit Boot Protocol": GDT with __BOOT_CS 0x10 and __BOOT_DS
        // 0x18, DS/ES/SS = __BOOT_DS, CS = __BOOT_CS, interrupts off, RSI = boot_params).
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(stub), at);
        var formatter = new IntelFormatter();
        var lines = new List<string>();
        ulong gdtrAddress = 0;
        Instruction i = default;
        while (lines.Count < 14)
        {
            i = decoder.Decode();
            var text = new StringOutput();
            formatter.Format(i, text);
            lines.Add(text.ToStringAndReset());
            if (i.Mnemonic == Mnemonic.Lgdt)
            {
                gdtrAddress = i.MemoryDisplacement64;
            }
        }

        Assert.That(lines, Is.EqualTo(new[]
        {
            "cli", $"lgdt [{gdtrAddress:X}h]", "mov eax,18h", "mov ds,ax", "mov es,ax", "mov ss,ax", "mov rsp,80000h",
            "mov rsi,10000h", "xor ebp,ebp", "xor edi,edi", "xor ebx,ebx", "push 10h", "mov rax,100200h", "push rax",
        }));
        Assert.That(decoder.Decode().Code, Is.EqualTo(Code.Retfq), "a far return with a 64-bit operand: pops RIP, then CS");

        // The GDTR names a GDT inside the stub whose 0x10 is 64-bit code and 0x18 flat data, both DPL 0.
        int gdtr = (int)(gdtrAddress - at);
        Assert.That(BitConverter.ToUInt16(stub, gdtr), Is.EqualTo(4 * 8 - 1));
        int gdt = (int)(BitConverter.ToUInt64(stub, gdtr + 2) - at);
        Assert.That(BitConverter.ToUInt64(stub, gdt + 0x10), Is.EqualTo(0x00AF_9A00_0000_FFFFUL));
        Assert.That(BitConverter.ToUInt64(stub, gdt + 0x18), Is.EqualTo(0x00CF_9200_0000_FFFFUL));
    }
}
