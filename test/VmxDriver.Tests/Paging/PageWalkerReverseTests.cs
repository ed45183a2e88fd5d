// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver.Tests.Paging;

/// <summary>The physical-to-virtual search (<c>!pa2va</c>) over seeded random paging structures: it finds every sampled
/// mapping, and everything it finds translates back to the physical address.</summary>
public sealed class PageWalkerReverseTests
{
    [TestCase(PagingMode.FourLevel, 11)]
    [TestCase(PagingMode.Pae, 12)]
    [TestCase(PagingMode.ThirtyTwoBit, 13)]
    public void FindLinear_RandomPageTables_FindsEveryMappingAndOnlyMappings(PagingMode mode, int seed)
    {
        // Arrange
        using var h = new EnginePagingHarness(mode == PagingMode.FourLevel ? 64 : 32);
        var tables = new RandomPageTables(h, mode, seed);
        h.Enable(tables.Root, mode == PagingMode.ThirtyTwoBit ? PagingState.Cr4Pse : PagingState.Cr4Pae, writeProtect: true, noExecute: true);
        int mapped = 0;

        for (int i = 0; i < 200; i++)
        {
            ulong linear = tables.SampleAddress(PageAccess.Read);
            Translation t = PageWalker.Translate(h.Memory, h.State, linear, PageAccess.Read, AccessPrivilege.Supervisor, setAccessedDirty: false, [], out _);
            if (!t.IsMapped)
            {
                continue;
            }

            mapped++;

            // Act
            List<ulong> found = PageWalker.FindLinear(h.Memory, h.State, t.Physical, 4096, out bool truncated);

            // Assert
            Assert.That(truncated, Is.False);
            Assert.That(found, Does.Contain(linear), $"0x{linear:X} maps 0x{t.Physical:X}");
            Assert.That(found, Is.Ordered.Ascending);
            foreach (ulong back in found)
            {
                Translation b = PageWalker.Translate(h.Memory, h.State, back, PageAccess.Read, AccessPrivilege.Supervisor, setAccessedDirty: false, [], out _);
                Assert.That(b.IsMapped && b.Physical == t.Physical, Is.True, $"0x{back:X} was found for 0x{t.Physical:X}");
            }
        }

        Assert.That(mapped, Is.GreaterThan(50), "the sample reaches mapped pages");
    }

    [Test]
    public void FindLinear_WithoutPaging_IsTheAddressItself()
    {
        using var memory = new GuestMemory(1 << 20);
        var state = new PagingState(0x11, 0, 0, 0);

        List<ulong> found = PageWalker.FindLinear(memory, state, 0x1234, 4, out bool truncated);

        Assert.That(found, Is.EqualTo(new[] { 0x1234UL }));
        Assert.That(truncated, Is.False);
    }
}
