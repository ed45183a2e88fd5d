// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Asm.Tests;

public sealed class TextAssemblerEncodingTests
{
    private static byte[] Bytes(string source, ulong origin = 0x1000) => TextAssembler.Assemble(source, origin).Bytes;

    [TestCase("out 0x80, al", new byte[] { 0xE6, 0x80 })]
    [TestCase("mov dx, 0x3f8", new byte[] { 0x66, 0xBA, 0xF8, 0x03 })]
    [TestCase("rep outsb", new byte[] { 0xF3, 0x6E })]
    [TestCase("mov cr3, rax", new byte[] { 0x0F, 0x22, 0xD8 })]
    [TestCase("in al, 71h", new byte[] { 0xE4, 0x71 })]
    [TestCase("lock cmpxchg [rbx], ecx", new byte[] { 0xF0, 0x0F, 0xB1, 0x0B })]
    [TestCase("mov qword [rdi + 0x1000], rcx", new byte[] { 0x48, 0x89, 0x8F, 0x00, 0x10, 0x00, 0x00 })]
    [TestCase("and rbx, 0xFFFFFFFFFFFFF000", new byte[] { 0x48, 0x81, 0xE3, 0x00, 0xF0, 0xFF, 0xFF })]
    [TestCase("mov al, 'A'; hlt", new byte[] { 0xB0, 0x41, 0xF4 })]
    [TestCase("syscall", new byte[] { 0x0F, 0x05 })]
    [TestCase("sysretq", new byte[] { 0x48, 0x0F, 0x07 })]
    [TestCase("iretq", new byte[] { 0x48, 0xCF })]
    [TestCase("swapgs", new byte[] { 0x0F, 0x01, 0xF8 })]
    [TestCase("rdmsr; wrmsr", new byte[] { 0x0F, 0x32, 0x0F, 0x30 })]
    [TestCase("ltr ax", new byte[] { 0x66, 0x0F, 0x00, 0xD8 })] // Iced keeps the operand-size prefix of the r16 form
    [TestCase("lgdt [rax]", new byte[] { 0x0F, 0x01, 0x10 })]
    [TestCase("mov ecx, 0xC0000080", new byte[] { 0xB9, 0x80, 0x00, 0x00, 0xC0 })]
    public void Assemble_KnownEncodings(string source, byte[] expected) => Assert.That(Bytes(source), Is.EqualTo(expected));

    [Test]
    public void Assemble_LabelsForwardBackwardDataAndEqu()
    {
        (byte[] bytes, IReadOnlyDictionary<string, ulong> labels) = TextAssembler.Assemble(
            """
            N equ 3
            start:
                mov rcx, msg_end - msg   # 5
                jmp done
            msg: db "Hi", 13, 10, 0
            msg_end:
                align 8
            done: dq N * 2
            """,
            0x2000);
        Assert.That(labels["start"], Is.EqualTo(0x2000));
        Assert.That(labels["msg_end"] - labels["msg"], Is.EqualTo(5));
        Assert.That(labels["done"] % 8, Is.Zero);
        Assert.That(BitConverter.ToUInt64(bytes, (int)(labels["done"] - 0x2000)), Is.EqualTo(6));
    }

    [Test]
    public void Assemble_NamesAreCaseSensitive()
    {
        // "delay" the label and "DELAY" the constant are different names.
        (byte[] bytes, IReadOnlyDictionary<string, ulong> labels) = TextAssembler.Assemble("DELAY equ 0x100\ndelay: dec rcx\n jnz delay", 0x1000);
        Assert.That(labels["delay"], Is.EqualTo(0x1000));
        Assert.That(bytes[^2..], Is.EqualTo(new byte[] { 0x75, 0xFB }), "jnz back to the label, not to 0x100");
    }

    [TestCase("movx rax, rbx", "unknown mnemonic 'movx'")]
    [TestCase("mov al, ebx", "operand combination")]
    [TestCase("jmp nowhere", "undefined label 'nowhere'")]
    [TestCase("a:\na: nop", "defined twice")]
    [TestCase("mov rax, (1", "missing ')'")]
    public void Assemble_Errors_NameLineStatementAndProblem(string source, string message) =>
        Assert.That(() => Bytes(source), Throws.TypeOf<AssemblyException>().With.Message.Contains(message).And.Message.Contains("line "));
}
