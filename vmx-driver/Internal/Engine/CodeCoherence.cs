// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>
/// Keeps the translated code of a machine's cores coherent with the guest's writes to code, as the CPUs' caches are
/// (SDM Vol. 3A 8.1.3, cross-modifying code): each core's engine translates guest code on its own, and an engine sees only
/// its own writes, so one core patching code another core has translated (a kernel's text_poke: INT3, the new bytes,
/// then the first byte, each followed by an IPI to every core) would leave the other running the old code. Each engine
/// reports the guest-physical pages it holds translations of (<see cref="CodeAdded"/>, <see cref="CodeRemoved"/>) and
/// its guest's writes to them (<see cref="Written"/>); a write queues the page for every other core with code there,
/// which drops it on its own thread before it runs a guest instruction again (<see cref="TakeWork"/>): engines are not
/// thread-safe, and a core runs only with the machine's run baton, so the written bytes are dropped before the writer's
/// next IPI can be taken. A page that holds code for the first time makes the other cores flush their TLBs: an engine
/// checks a write for code only through a TLB entry not yet marked dirty. Thread-safe.
/// </summary>
internal sealed class CodeCoherence
{
    private const int PageShift = 12;
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, ulong> _holders = [];
    private readonly List<Member> _members = [];

    /// <summary>Adds a core; <paramref name="wake"/> asks it to look at its work at its next block boundary.</summary>
    public Member Join(Action wake)
    {
        ArgumentNullException.ThrowIfNull(wake);
        lock (_lock)
        {
            if (_members.Count == 64)
            {
                throw new InvalidOperationException("A machine's code coherence takes at most 64 cores.");
            }

            var member = new Member(_members.Count, wake);
            _members.Add(member);
            return member;
        }
    }

    /// <summary>Pages some core holds translated code of.</summary>
    public int CodePages
    {
        get
        {
            lock (_lock)
            {
                return _holders.Count;
            }
        }
    }

    /// <summary><paramref name="member"/>'s engine translated code from the page holding <paramref name="physical"/>.</summary>
    public void CodeAdded(Member member, ulong physical)
    {
        ArgumentNullException.ThrowIfNull(member);
        ulong page = physical >> PageShift;
        lock (_lock)
        {
            _holders.TryGetValue(page, out ulong holders);
            if ((holders & member.Bit) != 0)
            {
                return;
            }

            _holders[page] = holders | member.Bit;
            if (holders != 0)
            {
                return; // the others' writes to the page are checked already
            }

            foreach (Member other in _members)
            {
                if (other != member)
                {
                    other.Post(flushTlb: true, range: null);
                }
            }
        }
    }

    /// <summary><paramref name="member"/>'s engine holds no code of the page holding <paramref name="physical"/> now.</summary>
    public void CodeRemoved(Member member, ulong physical)
    {
        ArgumentNullException.ThrowIfNull(member);
        ulong page = physical >> PageShift;
        lock (_lock)
        {
            if (_holders.TryGetValue(page, out ulong holders) && (holders & member.Bit) != 0)
            {
                holders &= ~member.Bit;
                if (holders == 0)
                {
                    _holders.Remove(page);
                }
                else
                {
                    _holders[page] = holders;
                }
            }
        }
    }

    /// <summary>
    /// <paramref name="writer"/>'s guest writes [<paramref name="physical"/>, + <paramref name="length"/>) (within one
    /// page): every other core holding code of that page is asked to drop the page's code (a page is queued once until
    /// taken, so the queue stays as short as the pages written). True when any core (the writer
    /// too) holds code there: the writer's engine must keep checking its writes to that page.
    /// </summary>
    public bool Written(Member writer, ulong physical, int length)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ulong page = physical >> PageShift;
        lock (_lock)
        {
            if (!_holders.TryGetValue(page, out ulong holders))
            {
                return false;
            }

            ulong others = holders & ~writer.Bit;
            if (others != 0)
            {
                foreach (Member other in _members)
                {
                    if ((others & other.Bit) != 0)
                    {
                        other.Post(flushTlb: false, range: (physical, physical + (ulong)Math.Max(length, 1)));
                    }
                }
            }

            return true;
        }
    }

    /// <summary>One core of the machine, with its queue of other cores' writes to code it holds.</summary>
    internal sealed class Member
    {
        private readonly Action _wake;
        private readonly Lock _lock = new();
        private readonly List<(ulong Begin, ulong End)> _ranges = [];
        private readonly HashSet<ulong> _queuedPages = [];
        private bool _flushTlb;
        private volatile bool _hasWork;

        internal Member(int index, Action wake)
        {
            Index = index;
            Bit = 1UL << index;
            _wake = wake;
        }

        /// <summary>The core's place in the machine.</summary>
        public int Index { get; }

        internal ulong Bit { get; }

        /// <summary>True while work is queued (a cheap look before <see cref="CodeCoherence.TakeWork"/>).</summary>
        public bool HasWork => _hasWork;

        internal void Post(bool flushTlb, (ulong Begin, ulong End)? range)
        {
            lock (_lock)
            {
                _flushTlb |= flushTlb;
                if (range is { } r && _queuedPages.Add(r.Begin >> PageShift))
                {
                    // A whole page at a time: the queue is as long as the pages written, however often each was.
                    ulong page = r.Begin & ~((1UL << PageShift) - 1);
                    _ranges.Add((page, page + (1UL << PageShift)));
                }

                _hasWork = true;
            }

            _wake();
        }

        internal CodeWork Take()
        {
            lock (_lock)
            {
                var work = new CodeWork(_ranges.ToArray(), _flushTlb);
                _ranges.Clear();
                _queuedPages.Clear();
                _flushTlb = false;
                _hasWork = false;
                return work;
            }
        }
    }

    /// <summary>Takes <paramref name="member"/>'s queued work (on its own thread); empty when there is none.</summary>
    public static CodeWork TakeWork(Member member)
    {
        ArgumentNullException.ThrowIfNull(member);
        return member.HasWork ? member.Take() : CodeWork.None;
    }
}
