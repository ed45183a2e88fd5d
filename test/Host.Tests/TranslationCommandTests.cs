// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Asm;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// <c>!pte</c>, <c>!va2pa</c>, <c>!pa2va</c> and virtual against physical memory commands through bin/hyperdbg, on a
/// flat64 guest that maps virtual 0xffff800000000000 (PML4 entry 256) to physical 0x305000 with its own 4 KiB page
/// tables, writes a value through that mapping and then loops on an OUT (the break: the event is registered while it runs).
/// </summary>
[Category("EndToEnd")]
public sealed class TranslationCommandTests
{
    private const string Guest = """
        mov rdi, 0x300000
        mov rax, 0x301003
        mov [rdi], rax
        mov rdi, 0x301000
        mov rax, 0x302003
        mov [rdi], rax
        mov rdi, 0x302000
        mov rax, 0x305003
        mov [rdi], rax
        mov rax, 0x306001
        mov [rdi+8], rax
        mov rax, cr3
        and rax, -4096
        mov rbx, 0x300003
        mov [rax+0x800], rbx
        mov rax, cr3
        mov cr3, rax
        mov rax, 0x1122334455667788
        mov rbx, 0xffff800000000000
        mov [rbx], rax
        again:
        out 0x80, al
        jmp again
        """;

    [Test]
    public void TranslationCommands_OnTheGuestsOwnPageTables_ShowWhatTheCpuUses()
    {
        // Arrange
        string image = Path.Combine(Path.GetTempPath(), $"hdr-pte-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(image, TextAssembler.Assemble(Guest, 0x100000).Bytes);

        // Act
        (int exit, string output, string error) = HyperDbgProcess.Run(
            "--guest", $"flat64:{image}@100000",
            "-c", "!ioout 80",
            "-c", "!pte ffff800000000008",
            "-c", "!pte ffff800000001000",
            "-c", "!pte 100000",
            "-c", "!va2pa ffff800000000010",
            "-c", "!pa2va 305010",
            "-c", "dq ffff800000000000 l 1",
            "-c", "!dq 305000 l 1",
            "-c", "eq ffff800000000008 55aa",
            "-c", "!dq 305008 l 1",
            "-c", "r rcx = dq(0xffff800000000000)",
            "-c", "r rcx",
            "-c", "u ffff800000000000 l 1",
            "-c", "? printf(\"v2p=%llx p2v=%llx\\n\", virtual_to_physical(0xffff800000000010), physical_to_virtual(0x305010));",
            "-c", "!va2pa ffff800000002000");
        File.Delete(image);

        // Assert
        Assert.That(exit, Is.EqualTo(1), "the last command fails: " + output + error);
        Assert.That(output, Does.Contain("VA ffff800000000008\n"));
        Assert.That(output, Does.Contain("\tcontains 0000000000300023  pfn 300      ----A--KWEV"), "PML4E 256, accessed by the guest's write");
        Assert.That(output, Does.Contain("PDPTE (PPE) at 0000000000300000\tcontains 0000000000301023"));
        Assert.That(output, Does.Contain("PDE at 0000000000301000\tcontains 0000000000302023"));
        Assert.That(output, Does.Contain("PTE at 0000000000302000\tcontains 0000000000305063  pfn 305      ---DA--KWEV"), "the write set A and D");
        Assert.That(output, Does.Contain("PA 305008 (4 KiB page)"));
        Assert.That(output, Does.Contain("PTE at 0000000000302008\tcontains 0000000000306001  pfn 306      -------KREV"), "read-only, never accessed");
        Assert.That(output, Does.Contain("PDE is a large page, so it doesn't have a PTE\nPA 100000 (2 MiB page)"), "the loader's identity map");
        Assert.That(output, Does.Contain("!va2pa ffff800000000010\n305010\n"));
        Assert.That(output, Does.Contain("!pa2va 305010\n305010\nffff800000000010\n"), "the loader's identity map and the guest's own mapping");
        Assert.That(output, Does.Contain("ffff8000`00000000  1122334455667788"));
        Assert.That(output, Does.Contain("00000000`00305000  1122334455667788"));
        Assert.That(output, Does.Contain("00000000`00305008  00000000000055aa"), "eq writes through the same translation");
        Assert.That(output, Does.Contain("rcx=1122334455667788"), "a script's dq reads through the same translation");
        Assert.That(output, Does.Contain("ffff8000`00000000 88 77"), "u disassembles the bytes the mapping reaches");
        Assert.That(output, Does.Contain("v2p=305010 p2v=305010"), "the script functions use the same walk (the lowest mapping)");
        Assert.That(error, Does.Contain("err, invalid address: ffff800000002000 has no physical address: the page is not mapped (a read raises #PF with error code 0"));
    }

    [Test]
    public void Pte_WithPid_IsRefusedOnAHaltedDebuggee()
    {
        string image = Path.Combine(Path.GetTempPath(), $"hdr-pte-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(image, TextAssembler.Assemble(Guest, 0x100000).Bytes);

        (int exit, _, string error) = HyperDbgProcess.Run("--guest", $"flat64:{image}@100000", "-c", "!ioout 80", "-c", "!pte ffff800000000000 pid 4");
        File.Delete(image);

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("err, !pte: 'pid' cannot be given on a halted debuggee"));
    }
}
