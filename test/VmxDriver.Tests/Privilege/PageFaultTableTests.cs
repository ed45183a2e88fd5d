// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// The #PF a guest's own access raises, delivered to its ring-0 handler, over the table: present or not ×
/// read, write or fetch × user (ring 3) or supervisor (ring 0) × CR0.WP × XD with EFER.NXE. The access goes to linear
/// 1 GiB, a 2 MiB page whose PDE each case writes (its PML4E and PDPTE allow user writes); the handler records the
/// error code, CR2 and the CS and RIP pushed. Accesses the SDM allows run on (a marker after them).
/// </summary>
public sealed class PageFaultTableTests
{
    private const ulong Target = 0x4000_0000 + 0x1230;
    private const ulong Record = Results + 0x300;
    private const ulong Done = Results + 0x380;
    private const ulong P = 1, W = 2, U = 4, Large = 0x80, Xd = 1UL << 63;
    private const ulong Frame = 0x40_0000;
    private const ulong NoFault = ulong.MaxValue;

    [TestCase(true, "read", 0UL, true, true, 0x4UL, Description = "user read, not present: U")]
    [TestCase(true, "write", 0UL, true, true, 0x6UL, Description = "user write, not present: W, U")]
    [TestCase(true, "fetch", 0UL, true, true, 0x14UL, Description = "user fetch, not present, NXE: U, I/D")]
    [TestCase(true, "read", P | W, true, true, 0x5UL, Description = "user read of a supervisor page: P, U")]
    [TestCase(true, "write", P | U, true, true, 0x7UL, Description = "user write of a read-only user page, WP=1: P, W, U")]
    [TestCase(true, "write", P | U, false, true, 0x7UL, Description = "user write of a read-only user page, WP=0: WP does not matter at CPL 3")]
    [TestCase(true, "read", P | U, true, true, NoFault, Description = "user read of a read-only user page: no fault")]
    [TestCase(true, "fetch", P | W | U | Xd, true, true, 0x15UL, Description = "user fetch of an XD user page, NXE: P, U, I/D")]
    [TestCase(true, "read", P | U | Xd, true, false, 0xDUL, Description = "user read of an XD page with NXE clear: XD is reserved: P, U, RSVD")]
    [TestCase(false, "read", 0UL, true, true, 0x0UL, Description = "supervisor read, not present: 0")]
    [TestCase(false, "write", P | U, true, true, 0x3UL, Description = "supervisor write of a read-only page, WP=1: P, W")]
    [TestCase(false, "write", P | U, false, true, NoFault, Description = "supervisor write of a read-only page, WP=0: no fault")]
    [TestCase(false, "read", P | U, true, true, NoFault, Description = "supervisor read of a user page (no SMAP): no fault")]
    [TestCase(false, "fetch", P | W | Xd, true, true, 0x11UL, Description = "supervisor fetch of an XD page, NXE: P, I/D")]
    public void Access_FaultsWithTheErrorCodeTheSdmGives(bool user, string access, ulong pdeFlags, bool writeProtect, bool noExecute, ulong expected)
    {
        // Arrange
        void Access(Assembler a)
        {
            a.mov(rsi, Target);
            switch (access)
            {
                case "read":
                    a.mov(rax, __qword_ptr[rsi]);
                    break;
                case "write":
                    a.mov(__qword_ptr[rsi], rax);
                    break;
                default:
                    a.jmp(rsi);
                    break;
            }

            a.mov(__qword_ptr[Done], 1);
        }

        using TestVm t = Create(
            a =>
            {
                if (user)
                {
                    Access(a);
                }

                a.hlt();
            },
            a =>
            {
                a.mov(rax, cr0);
                if (writeProtect)
                {
                    a.or(eax, 0x1_0000);
                }
                else
                {
                    a.and(eax, ~0x1_0000);
                }

                a.mov(cr0, rax);
                a.mov(ecx, 0xC000_0080);
                a.rdmsr();
                if (noExecute)
                {
                    a.or(eax, 0x800);
                }
                else
                {
                    a.and(eax, ~0x800);
                }

                a.wrmsr();
                if (!user)
                {
                    Access(a);
                }
            });
        Handler(t, 14, 0x8E, dpl: 0, ist: 0, a =>
        {
            a.mov(rax, __qword_ptr[rsp]);
            a.mov(__qword_ptr[Record], rax);
            a.mov(rax, cr2);
            a.mov(__qword_ptr[Record + 8], rax);
            a.mov(rax, __qword_ptr[rsp + 8]);
            a.mov(__qword_ptr[Record + 16], rax);
            a.mov(rax, __qword_ptr[rsp + 16]);
            a.mov(__qword_ptr[Record + 24], rax);
            a.hlt();
        });
        GuestMemory memory = t.Vm.Memory;
        memory.TryWrite(Record, NoFault);
        ulong pml4e = Read(memory, memory.RamSize - IdentityMap.TablesSize);
        ulong pdpte1At = (pml4e & ~0xFFFUL) + 8;
        memory.TryWrite(pdpte1At, Read(memory, pdpte1At) | U | W);
        ulong pd = Read(memory, pdpte1At) & 0x000F_FFFF_FFFF_F000;
        memory.TryWrite(pd, pdeFlags == 0 ? 0 : Frame | Large | pdeFlags);
        memory.Write(Frame + 0x1230, [0xF4]); // a fetch that is allowed would run HLT

        // Act
        t.Run();

        // Assert
        ulong errorCode = Read(memory, Record);
        Assert.That(errorCode, Is.EqualTo(expected), expected == NoFault ? "no #PF" : "the #PF's error code");
        if (expected == NoFault)
        {
            Assert.That(Read(memory, Done), Is.EqualTo(1), "the access completed and the code after it ran");
            return;
        }

        Assert.That(Read(memory, Record + 8), Is.EqualTo(Target), "CR2");
        Assert.That(Read(memory, Record + 24) & 3, Is.EqualTo(user ? 3 : 0), "the CPL the fault came from (CS pushed)");
        if (access == "fetch")
        {
            Assert.That(Read(memory, Record + 16), Is.EqualTo(Target), "a fetch fault's RIP is the target");
        }

        Assert.That(Read(memory, Done), Is.Zero, "the faulting access did not complete");
    }
}
