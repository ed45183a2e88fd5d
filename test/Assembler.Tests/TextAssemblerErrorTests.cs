// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Asm.Tests;

/// <summary>Every kind of error is an <see cref="AssemblyException"/> naming the statement and the problem.</summary>
public sealed class TextAssemblerErrorTests
{
    [TestCase("nop; nop; movx rax, rbx", "line 1, statement 3 'movx rax, rbx': unknown mnemonic 'movx'")]
    [TestCase("nop\nnop\nmov rax, rbx, rcx", "line 3, statement 3 'mov rax, rbx, rcx': 'mov' does not take 3 operand(s)")]
    [TestCase("mov al, ebx", "statement 1 'mov al, ebx': 'mov' does not take the operand combination 'al, ebx'")]
    [TestCase("lea rax, rbx", "statement 1 'lea rax, rbx': 'lea' does not take the operand combination")]
    [TestCase("inc [rax]", "statement 1 'inc [rax]': 'inc' with '[rax]' cannot be encoded")]
    [TestCase("mov rax, [rbx + rcx*3]", "statement 1 'mov rax, [rbx + rcx*3]': the scale in '[rbx + rcx*3]' must be 1, 2, 4 or 8")]
    [TestCase("mov rax, [ebx + rcx]", "mixes register sizes")]
    [TestCase("mov rax, [rsp*2]", "the stack pointer cannot be an index")]
    [TestCase("xor eax, eax; jne nowhere; ret", "statement 2 'jne nowhere': undefined label 'nowhere'")]
    [TestCase("mov rax, [rip + nowhere]", "undefined label 'nowhere'")]
    [TestCase("a: nop; a: ret", "statement 2 'a: ret': label 'a' is defined twice")]
    [TestCase("mov al, 0x100", "statement 1 'mov al, 0x100': value 0x100 is out of range for 'mov'")]
    [TestCase("out 0x100, al", "value 0x100 is out of range for 'out'")]
    [TestCase("in al, -200", "value -0xC8 is out of range for 'in'")]
    [TestCase("mov eax, 0x100000000", "value 0x100000000 is out of range")]
    [TestCase("shl eax, 256", "value 0x100 is out of range for 'shl'")]
    [TestCase("int 0x1ff", "value 0x1FF is out of range for 'int'")]
    [TestCase("ret 0x10000", "value 0x10000 is out of range for 'ret'")]
    [TestCase("db 256", "value 0x100 is out of range for db")]
    [TestCase("mov rax, 99999999999999999999", "'99999999999999999999' is not a number")]
    [TestCase("mov rax, (1", "missing ')'")]
    [TestCase("mov rax, 1/0", "division by zero")]
    [TestCase("align 3", "align 3 is out of range")]
    [TestCase("rep", "the prefix 'rep' needs an instruction")]
    [TestCase("mov rax, byte 5", "is not a memory operand")]
    [TestCase("mov rax,", "an operand is empty")]
    public void Assemble_BadStatement_AssemblyExceptionNamingStatementAndProblem(string source, string message) =>
        Assert.That(() => TextAssembler.Assemble(source, 0x1000), Throws.TypeOf<AssemblyException>().With.Message.Contains(message));

    [Test]
    public void Assemble_ByteImmediateTooLargeForMemoryOperand_OutOfRange() =>
        Assert.That(() => TextAssembler.Assemble("add byte [rbx], 300", 0), Throws.TypeOf<AssemblyException>().With.Message.Contains("statement 1 'add byte [rbx], 300'"));

    [Test]
    public void Assemble_BadArguments_ArgumentExceptions()
    {
        Assert.That(() => TextAssembler.Assemble(null!, 0), Throws.ArgumentNullException);
        Assert.That(() => TextAssembler.Assemble("nop", 0, 8), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
