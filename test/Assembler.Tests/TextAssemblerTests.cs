// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Asm.Tests;

public sealed class TextAssemblerTests
{
    private static byte[] Bytes(string source, ulong address = 0) => TextAssembler.Assemble(source, address).Bytes;

    [Test]
    public void Assemble_OneLineBlockWithBackwardJump_ExactBytes()
    {
        // Arrange
        const string Source = "xor eax, eax; l1: inc eax; cmp eax, 5; jne l1; ret";

        // Act
        AssemblyResult result = TextAssembler.Assemble(Source, 0x1000);

        // Assert
        Assert.That(result.Bytes, Is.EqualTo(new byte[] { 0x31, 0xC0, 0xFF, 0xC0, 0x83, 0xF8, 0x05, 0x75, 0xF9, 0xC3 }));
        Assert.That(result.Labels["l1"], Is.EqualTo(0x1002));
        Assert.That(result.LastInstructionOffset, Is.EqualTo(9));
    }

    [Test]
    public void Assemble_ForwardJumps_ShortAndNearFormsSettle()
    {
        // Arrange: the first jump skips one byte, the second skips 200 (too far for a short jump).
        string source = "jmp done; nop; done: jmp far; " + string.Concat(Enumerable.Repeat("nop; ", 200)) + "far: ret";

        // Act
        AssemblyResult result = TextAssembler.Assemble(source, 0);

        // Assert
        Assert.That(result.Bytes[..3], Is.EqualTo(new byte[] { 0xEB, 0x01, 0x90 }));
        Assert.That(result.Bytes[3..8], Is.EqualTo(new byte[] { 0xE9, 0xC8, 0x00, 0x00, 0x00 }), "near jmp over 200 nops");
        Assert.That(result.Labels["far"], Is.EqualTo(3 + 5 + 200));
        Assert.That(result.Bytes[^1], Is.EqualTo(0xC3));
    }

    [Test]
    public void Assemble_CallForwardAndBackwardInOneLine_Resolves()
    {
        byte[] bytes = Bytes("top: call sub1; jmp top; sub1: ret");
        Assert.That(bytes, Is.EqualTo(new byte[] { 0xE8, 0x02, 0x00, 0x00, 0x00, 0xEB, 0xF9, 0xC3 }));
    }

    [Test]
    public void Assemble_RipRelativeLabel_AndSemicolonInsideString()
    {
        // lea at 0 (7 bytes), ret at 7, msg at 8: the displacement is 8 - 7 = 1; "a;b" is data, not two statements.
        byte[] expected = [0x48, 0x8D, 0x05, 0x01, 0x00, 0x00, 0x00, 0xC3, (byte)'a', (byte)';', (byte)'b', 0x00];
        Assert.That(Bytes("lea rax, [rip + msg]; ret; msg: db \"a;b\", 0"), Is.EqualTo(expected));
        Assert.That(Bytes("lea rax, [rel msg]; ret; msg: db \"a;b\", 0"), Is.EqualTo(expected));
        Assert.That(Bytes("mov al, ';'; ret"), Is.EqualTo(new byte[] { 0xB0, 0x3B, 0xC3 }));
    }

    [Test]
    public void Assemble_NewlinesCommentsEquAndData_AsInTheDemoGuest()
    {
        // Arrange
        const string Source = """
            PORT equ 0x80          # a constant
            start: mov al, 0x11    // another comment
                out PORT, al; ret
            table: dw 1, 2
                align 8
            tail: dq table - start
            """;

        // Act
        AssemblyResult result = TextAssembler.Assemble(Source, 0x2000);

        // Assert
        Assert.That(result.Bytes[..5], Is.EqualTo(new byte[] { 0xB0, 0x11, 0xE6, 0x80, 0xC3 }));
        Assert.That(result.Labels["tail"], Is.EqualTo(0x2010));
        Assert.That(BitConverter.ToUInt64(result.Bytes, 0x10), Is.EqualTo(5));
        Assert.That(result.LastInstructionOffset, Is.EqualTo(4), "data after the ret is not an instruction");
    }

    [TestCase("xchg ecx, [rdx]", "xchg [rdx], ecx")]
    [TestCase("test rax, [rbx]", "test [rbx], rax")]
    [TestCase("mov rax, [rbx+rcx*8]", "mov rax, qword ptr [rbx + 8*rcx]")]
    [TestCase("repz cmpsb", "repe cmpsb")]
    [TestCase("jz l; l: ret", "je l; l: ret")]
    public void Assemble_EquivalentSpellings_SameBytes(string source, string equivalent) =>
        Assert.That(Bytes(source), Is.EqualTo(Bytes(equivalent)));

    [Test]
    public void Assemble_32BitCode_UsesBitness() =>
        Assert.That(TextAssembler.Assemble("push ebp; mov ebp, esp; inc eax", 0, 32).Bytes, Is.EqualTo(new byte[] { 0x55, 0x89, 0xE5, 0x40 }));

    [Test]
    public void TryAssemble_BadStatement_ErrorAsValue()
    {
        Assert.That(TextAssembler.TryAssemble("nop; bogus", 0, 64, out AssemblyResult? result, out string? error), Is.False);
        Assert.That(result, Is.Null);
        Assert.That(error, Does.Contain("statement 2 'bogus'"));
        Assert.That(TextAssembler.TryAssemble("nop", 0, 64, out result, out error), Is.True);
        Assert.That(result!.Bytes, Is.EqualTo(new byte[] { 0x90 }));
    }

    [Test]
    public void Assemble_EmptySource_NoBytes() => Assert.That(Bytes("  ; # nothing\n"), Is.Empty);
}
